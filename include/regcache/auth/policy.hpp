#pragma once
// The access rules (`access:`, `default_access:`): who may pull what.
//
// Rules are tried in order and the first that applies decides. A rule
// applies when all three match:
//   upstream      the upstream's configured name, or "*" for every upstream
//                 (an alias or ?ns= routes to the upstream's name first)
//   repositories  any of its globs (oci/repository_glob.hpp: "*" within a
//                 segment, a "**" segment for any number of segments, none
//                 included) matches the repository, normalized (Docker
//                 Hub's "alpine" is "library/alpine")
//   subjects      any of its allow: (or deny:) subjects matches the requester:
//                   <identity>      that identity (htpasswd user, token
//                                   identity, client certificate name)
//                   group:<name>    a member of auth.groups.<name>
//                   *               any authenticated identity
//                   anonymous       every requester, signed in or not
// An allow: rule grants pull (manifests, blobs, tags list, referrers); a
// deny: rule refuses it. When no rule applies, default_access decides.
//
// Immutable after construction; safe from any thread.
#include "regcache/oci/repository_glob.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::auth {

enum class decision { allow, deny };

struct access_rule {
  std::string upstream = "*";
  std::vector<oci::repository_glob> repositories;
  decision grants = decision::allow;
  std::vector<std::string> subjects;
};

struct verdict {
  decision outcome = decision::deny;
  std::optional<std::size_t> rule;  // index of the deciding rule; nullopt: default_access decided
};

class policy {
 public:
  // Everyone pulls everything: what regcache does without access control.
  policy() = default;
  policy(std::vector<access_rule> rules, std::map<std::string, std::set<std::string>> groups, decision fallback);

  // `identity` is empty for an anonymous requester.
  [[nodiscard]] verdict decide(std::string_view upstream, std::string_view repository,
                               std::string_view identity) const;

 private:
  [[nodiscard]] bool subject_matches(const std::string& subject, std::string_view identity) const;

  std::vector<access_rule> rules_;
  std::map<std::string, std::set<std::string>, std::less<>> groups_;
  decision fallback_ = decision::allow;
};

}  // namespace regcache::auth
