#pragma once
// Scan passes: how a scanner pulls the image it scans from regcache itself,
// past the scan gate (REGCACHE_PULL_URL), without opening anything else.
//
// A pass is a random 128-bit token bound to one upstream, one repository and
// one manifest digest. Its pull reference puts the token in a first path
// segment the registry handler strips:
//
//   127.0.0.1:5000/regcache-scan-<32 hex>/[<upstream>/]<repository>@<digest>
//
// Through it, a GET or HEAD by digest under exactly that upstream and
// repository is admitted for the pass's manifest and, once a manifest
// admitted by the pass was served through it, for every digest that
// manifest references (an index's platform manifests, a manifest's config
// and layers). Tags, tag lists, referrers, other repositories and other
// digests are refused. The pass is revoked when the scan ends.
//
// Thread-safety: all members may be called from any thread.
#include "regcache/core/digest.hpp"

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace regcache::scan {

class pull_passes {
 public:
  static constexpr std::string_view path_prefix = "regcache-scan-";

  // A new pass; returns its token.
  std::string issue(std::string upstream, std::string repository, core::digest manifest);
  void revoke(const std::string& token);

  // Whether the pass `token` admits `digest` under that upstream and repository.
  [[nodiscard]] bool admits(std::string_view token, std::string_view upstream, std::string_view repository,
                            const core::digest& digest) const;
  // A manifest served through the pass: the digests it references are
  // admitted too (only when the manifest itself was).
  void served_manifest(std::string_view token, const core::digest& manifest, std::string_view media_type,
                       std::string_view bytes);

  struct split_name {
    std::string token;
    std::string rest;  // the repository path name after the pass segment
  };
  // "regcache-scan-<token>/library/alpine" → {token, "library/alpine"};
  // nullopt for a path name that does not start with a pass segment.
  [[nodiscard]] static std::optional<split_name> split(std::string_view path_name);

  std::size_t size() const;

 private:
  struct pass {
    std::string upstream;
    std::string repository;
    std::unordered_set<core::digest> admitted;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, pass> passes_;
};

}  // namespace regcache::scan
