#include "regcache/app/signature_policy.hpp"

#include "unit/store/test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace regcache::app {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::filesystem::path cosign_fixtures = std::filesystem::path(REGCACHE_SOURCE_DIR) / "tests/fixtures/cosign";
const std::filesystem::path notation_roots =
    std::filesystem::path(REGCACHE_SOURCE_DIR) / "tests/fixtures/notation/alpine.pem";

config::verify_rule_config rule(std::string mode, std::vector<std::string> keys) {
  config::verify_rule_config r;
  r.repositories = {"team/**"};
  r.mode = std::move(mode);
  r.cosign_keys = std::move(keys);
  return r;
}

std::string config_error_of(const config::config& cfg) {
  try {
    (void)signature_policy_of(cfg);
  } catch (const config::config_error& e) {
    return e.what();
  }
  return "<no config_error thrown>";
}

TEST(signature_policy_of, rules_keep_their_order_mode_keys_and_globs) {
  config::config cfg;
  cfg.verify = {rule("off", {}), rule("enforce", {(cosign_fixtures / "cosign.pub").string()}),
                rule("warn", {(cosign_fixtures / "cosign2.pub").string()})};
  cfg.verify[2].repositories = {"**"};
  cfg.verify[1].check_identity = true;
  const auto policy = signature_policy_of(cfg);
  EXPECT_TRUE(policy.checks_anything());
  EXPECT_EQ(policy.rule_for("docker.io", "team/app"), nullptr) << "the first rule (off) decides";
  const auto* warned = policy.rule_for("docker.io", "library/alpine");
  ASSERT_NE(warned, nullptr);
  EXPECT_EQ(warned->mode, trust::mode::warn);
  ASSERT_EQ(warned->cosign_keys.size(), 1u);

  cfg.verify.erase(cfg.verify.begin());
  const auto enforced = signature_policy_of(cfg);
  const auto* team = enforced.rule_for("docker.io", "team/app");
  ASSERT_NE(team, nullptr);
  EXPECT_EQ(team->mode, trust::mode::enforce);
  EXPECT_TRUE(team->check_identity);
  EXPECT_EQ(team->key_set, trust::key_set_of(team->cosign_keys, "", true));
  EXPECT_FALSE(signature_policy_of(config::config{}).checks_anything());
}

TEST(signature_policy_of, a_key_or_trust_store_that_does_not_load_names_its_key) {
  store::testing::temp_dir dir;
  config::config cfg;
  cfg.verify = {rule("enforce", {(cosign_fixtures / "cosign.pub").string(), (dir.path() / "missing.pub").string()})};
  EXPECT_THAT(config_error_of(cfg), StartsWith("verify[0].cosign_keys[1]: " + (dir.path() / "missing.pub").string()));
  std::ofstream(dir.path() / "not-a-key.pub") << "hello\n";
  cfg.verify[0].cosign_keys = {(dir.path() / "not-a-key.pub").string()};
  EXPECT_THAT(config_error_of(cfg), HasSubstr("PEM"));

  cfg.verify[0].cosign_keys = {};
  cfg.verify[0].notation_trust_store = (dir.path() / "roots.pem").string();
  EXPECT_THAT(config_error_of(cfg), StartsWith("verify[0].notation_trust_store: cannot read"));
  std::ofstream(dir.path() / "roots.pem") << "not a certificate\n";
  EXPECT_THAT(config_error_of(cfg), HasSubstr("holds no PEM certificate"));
  std::ofstream(dir.path() / "roots.pem") << "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  EXPECT_THAT(config_error_of(cfg), HasSubstr("the trust store cannot be read"));
  cfg.verify[0].notation_trust_store = notation_roots.string();
  const auto policy = signature_policy_of(cfg);
  const auto* rule = policy.rule_for("docker.io", "team/app");
  ASSERT_TRUE(rule->notation_trust_store);
  EXPECT_EQ(rule->key_set, trust::key_set_of({}, rule->notation_trust_store->fingerprint(), false));
}

}  // namespace
}  // namespace regcache::app
