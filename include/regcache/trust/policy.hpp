#pragma once
// The signature policy (`verify:`): which repositories must be signed, by
// whom, and what happens when they are not.
//
// Rules are tried in order and the first that applies decides; a rule
// applies when its upstream (a configured upstream's name, or "*") and any
// of its repository globs (oci/repository_glob.hpp, as in access rules)
// match. No rule applies, or the deciding rule's mode is off: no checks.
//
//   enforce  a manifest is served only when a signature verifies; blobs only
//            under manifests that passed on this node (unless gate_blobs is
//            off)
//   warn     served either way; a failure is logged and counted
//   off      no checks
//
// Immutable after construction; safe from any thread.
#include "regcache/oci/repository_glob.hpp"
#include "regcache/verify/notation.hpp"
#include "regcache/verify/public_key.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::trust {

enum class mode { enforce, warn, off };

std::string_view mode_name(mode m) noexcept;

struct signature_rule {
  std::string upstream = "*";
  std::vector<oci::repository_glob> repositories;
  trust::mode mode = mode::enforce;
  // cosign keys, loaded at startup.
  std::vector<verify::public_key> cosign_keys;
  // The Notary Project trust store notation signatures must chain to
  // (verify/notation.hpp), loaded at startup; none: they are not checked.
  std::optional<verify::trust_store> notation_trust_store;
  // The cosign payload's docker-reference must name the repository.
  bool check_identity = false;
  // enforce: a blob is served only when a manifest that passed here
  // references it. Off for shards: a blob's replica (chosen by its digest)
  // need not have seen its manifest; manifests stay gated, so no runtime
  // pulls an unsigned image, but a client that knows a layer's digest gets it.
  bool gate_blobs = true;
  // What a verdict under this rule depends on (key_set_of()); a stored
  // verdict made with another key set is judged again.
  std::string key_set;
};

// "sha256:<hex>" over the keys' fingerprints (in any order), the trust
// store's fingerprint (empty: none) and check_identity: the same for the
// same checks.
[[nodiscard]] std::string key_set_of(std::span<const verify::public_key> cosign_keys,
                                     std::string_view notation_trust_store_fingerprint, bool check_identity);

class signature_policy {
 public:
  // No rules: nothing is checked.
  signature_policy() = default;
  // Fills in each rule's key_set.
  explicit signature_policy(std::vector<signature_rule> rules);

  // Whether any rule checks anything: false lets the hot path skip the gate.
  bool checks_anything() const noexcept { return checks_anything_; }

  // The rule deciding for (upstream, repository); null when none applies or
  // it is off.
  [[nodiscard]] const signature_rule* rule_for(std::string_view upstream, std::string_view repository) const;

 private:
  std::vector<signature_rule> rules_;
  bool checks_anything_ = false;
};

}  // namespace regcache::trust
