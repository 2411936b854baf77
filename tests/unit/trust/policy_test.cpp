#include "regcache/trust/policy.hpp"

#include "unit/verify/cosign_fixtures.hpp"

#include <gtest/gtest.h>

namespace regcache::trust {
namespace {

using verify::testing::key;

signature_rule rule(std::string upstream, std::vector<std::string> globs, mode m) {
  signature_rule r;
  r.upstream = std::move(upstream);
  for (const auto& glob : globs) r.repositories.push_back(oci::repository_glob::parse(glob).value());
  r.mode = m;
  r.cosign_keys = {key("cosign.pub")};
  return r;
}

TEST(signature_policy, the_first_matching_rule_decides_and_off_or_no_match_checks_nothing) {
  const signature_policy policy({rule("*", {"team/**"}, mode::enforce), rule("ghcr.io", {"**"}, mode::warn),
                                 rule("*", {"library/*"}, mode::off), rule("*", {"**"}, mode::warn)});
  ASSERT_TRUE(policy.checks_anything());
  ASSERT_NE(policy.rule_for("docker.io", "team/app"), nullptr);
  EXPECT_EQ(policy.rule_for("docker.io", "team/app")->mode, mode::enforce);
  EXPECT_EQ(policy.rule_for("ghcr.io", "team/app")->mode, mode::enforce);
  EXPECT_EQ(policy.rule_for("ghcr.io", "org/tool")->mode, mode::warn);
  EXPECT_EQ(policy.rule_for("docker.io", "library/alpine"), nullptr);
  EXPECT_EQ(policy.rule_for("docker.io", "other/x")->mode, mode::warn);
}

TEST(signature_policy, no_rules_or_only_off_rules_check_nothing) {
  EXPECT_FALSE(signature_policy().checks_anything());
  EXPECT_EQ(signature_policy().rule_for("docker.io", "team/app"), nullptr);
  const signature_policy off({rule("*", {"**"}, mode::off)});
  EXPECT_FALSE(off.checks_anything());
  EXPECT_EQ(off.rule_for("docker.io", "team/app"), nullptr);
  EXPECT_EQ(signature_policy({rule("docker.io", {"team/**"}, mode::enforce)}).rule_for("ghcr.io", "team/app"),
            nullptr);
}

TEST(signature_policy, the_key_set_names_the_keys_in_any_order_the_trust_store_and_the_identity_check) {
  const std::vector one{key("cosign.pub")};
  const std::vector both{key("cosign.pub"), key("cosign2.pub")};
  const std::vector swapped{key("cosign2.pub"), key("cosign.pub")};
  EXPECT_EQ(key_set_of(both, "", false), key_set_of(swapped, "", false));
  EXPECT_NE(key_set_of(one, "", false), key_set_of(both, "", false));
  EXPECT_NE(key_set_of(one, "", false), key_set_of(one, "", true));
  EXPECT_NE(key_set_of(one, "", false), key_set_of(one, "-----BEGIN CERTIFICATE-----", false));
  EXPECT_TRUE(key_set_of(one, "", false).starts_with("sha256:"));

  const signature_policy policy({rule("*", {"**"}, mode::enforce)});
  EXPECT_EQ(policy.rule_for("docker.io", "x")->key_set, key_set_of(one, "", false));
  EXPECT_EQ(mode_name(mode::warn), "warn");
}

}  // namespace
}  // namespace regcache::trust
