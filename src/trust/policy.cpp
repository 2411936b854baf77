#include "regcache/trust/policy.hpp"

#include "regcache/core/hasher.hpp"

#include <algorithm>

namespace regcache::trust {

std::string_view mode_name(mode m) noexcept {
  switch (m) {
    case mode::enforce: return "enforce";
    case mode::warn: return "warn";
    case mode::off: return "off";
  }
  return "off";
}

std::string key_set_of(std::span<const verify::public_key> cosign_keys,
                       std::string_view notation_trust_store_fingerprint, bool check_identity) {
  std::vector<std::string> fingerprints;
  for (const auto& key : cosign_keys) fingerprints.push_back(key.fingerprint());
  std::sort(fingerprints.begin(), fingerprints.end());
  core::hasher h;
  for (const auto& fingerprint : fingerprints) h.update("cosign " + fingerprint + "\n");
  h.update("notation " + std::string(notation_trust_store_fingerprint) + "\n");
  h.update(check_identity ? "identity\n" : "any identity\n");
  return h.finish().str();
}

signature_policy::signature_policy(std::vector<signature_rule> rules) : rules_(std::move(rules)) {
  for (auto& rule : rules_) {
    const std::string store = rule.notation_trust_store ? rule.notation_trust_store->fingerprint() : std::string();
    rule.key_set = key_set_of(rule.cosign_keys, store, rule.check_identity);
    if (rule.mode != mode::off) checks_anything_ = true;
  }
}

const signature_rule* signature_policy::rule_for(std::string_view upstream, std::string_view repository) const {
  for (const auto& rule : rules_) {
    if (rule.upstream != "*" && rule.upstream != upstream) continue;
    if (!oci::matches_any(rule.repositories, repository)) continue;
    return rule.mode == mode::off ? nullptr : &rule;
  }
  return nullptr;
}

}  // namespace regcache::trust
