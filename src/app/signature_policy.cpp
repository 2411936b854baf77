#include "regcache/app/signature_policy.hpp"

#include "regcache/oci/repository_glob.hpp"
#include "regcache/verify/notation.hpp"
#include "regcache/verify/public_key.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace regcache::app {
namespace {

trust::mode mode_of(const std::string& mode) {
  if (mode == "warn") return trust::mode::warn;
  if (mode == "off") return trust::mode::off;
  return trust::mode::enforce;
}

verify::trust_store read_trust_store(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config::config_error(key + ": cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    throw config::config_error(key + ": " + path + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  auto store = verify::trust_store::from_pem(text.str());
  if (!store) throw config::config_error(key + ": " + path + ": " + store.error().message());
  return std::move(*store);
}

}  // namespace

trust::signature_policy signature_policy_of(const config::config& cfg) {
  std::vector<trust::signature_rule> rules;
  for (std::size_t i = 0; i < cfg.verify.size(); ++i) {
    const auto& r = cfg.verify[i];
    const auto path = "verify[" + std::to_string(i) + "]";
    trust::signature_rule rule;
    rule.upstream = r.upstream;
    // validate() parsed every pattern already.
    for (const auto& pattern : r.repositories) rule.repositories.push_back(oci::repository_glob::parse(pattern).value());
    rule.mode = mode_of(r.mode);
    for (std::size_t j = 0; j < r.cosign_keys.size(); ++j) {
      auto key = verify::public_key::from_file(r.cosign_keys[j]);
      if (!key)
        throw config::config_error(path + ".cosign_keys[" + std::to_string(j) + "]: " + r.cosign_keys[j] + ": " +
                                   key.error().message());
      rule.cosign_keys.push_back(std::move(*key));
    }
    if (!r.notation_trust_store.empty())
      rule.notation_trust_store = read_trust_store(r.notation_trust_store, path + ".notation_trust_store");
    rule.check_identity = r.check_identity;
    rule.gate_blobs = r.gate_blobs;
    if (rule.mode != trust::mode::off)
      spdlog::info("signature policy {}: {} repositories {} of upstream {} with {} cosign key(s){}{}{}", path, r.mode,
                   r.repositories.size(), r.upstream, rule.cosign_keys.size(),
                   rule.notation_trust_store ? " and a notation trust store" : "",
                   rule.check_identity ? ", identity checked" : "",
                   rule.mode == trust::mode::enforce && !rule.gate_blobs ? ", blobs not gated" : "");
    rules.push_back(std::move(rule));
  }
  return trust::signature_policy(std::move(rules));
}

}  // namespace regcache::app
