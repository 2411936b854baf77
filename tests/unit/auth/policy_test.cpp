#include "regcache/auth/policy.hpp"

#include <gtest/gtest.h>

namespace regcache::auth {
namespace {

std::vector<oci::repository_glob> globs(std::initializer_list<std::string_view> patterns) {
  std::vector<oci::repository_glob> out;
  for (const auto pattern : patterns) out.push_back(oci::repository_glob::parse(pattern).value());
  return out;
}

// The rules of the example, plus one for a single identity.
policy example(decision fallback) {
  std::vector<access_rule> rules{
      {"*", globs({"library/**"}), decision::allow, {"anonymous"}},
      {"registry.internal:5443", globs({"team-a/**"}), decision::allow, {"group:team-a"}},
      {"*", globs({"robots/*"}), decision::allow, {"ci-robot"}},
      {"*", globs({"secret/**"}), decision::deny, {"*"}},
      {"*", globs({"members/**"}), decision::allow, {"*"}},
  };
  return policy(std::move(rules), {{"team-a", {"alice", "bob"}}}, fallback);
}

TEST(policy, first_matching_rule_decides) {
  const auto p = example(decision::deny);
  const auto anonymous = p.decide("docker.io", "library/alpine", "");
  EXPECT_EQ(anonymous.outcome, decision::allow);
  EXPECT_EQ(anonymous.rule, 0u);
  // `anonymous` matches signed-in requesters too.
  EXPECT_EQ(p.decide("docker.io", "library/alpine", "carol").outcome, decision::allow);
  EXPECT_EQ(p.decide("registry.internal:5443", "team-a/app", "alice").outcome, decision::allow);
  EXPECT_EQ(p.decide("registry.internal:5443", "team-a/app", "bob").rule, 1u);
  EXPECT_EQ(p.decide("robots.example", "robots/builder", "ci-robot").outcome, decision::allow);
}

TEST(policy, a_rule_applies_only_when_upstream_repository_and_subject_match) {
  const auto p = example(decision::deny);
  // Another upstream: rule 1 does not apply, the default decides.
  const auto other_upstream = p.decide("docker.io", "team-a/app", "alice");
  EXPECT_EQ(other_upstream.outcome, decision::deny);
  EXPECT_EQ(other_upstream.rule, std::nullopt);
  // Not in the group: falls through to the default.
  EXPECT_EQ(p.decide("registry.internal:5443", "team-a/app", "carol").outcome, decision::deny);
  EXPECT_EQ(p.decide("registry.internal:5443", "team-a/app", "").outcome, decision::deny);
  EXPECT_EQ(p.decide("x", "robots/builder", "alice").outcome, decision::deny);
}

TEST(policy, star_matches_authenticated_identities_only) {
  const auto allowing = example(decision::allow);
  EXPECT_EQ(allowing.decide("x", "secret/plans", "alice").outcome, decision::deny);
  EXPECT_EQ(allowing.decide("x", "secret/plans", "alice").rule, 3u);
  // Anonymous is not `*`: the deny rule does not apply, the default does.
  const auto anonymous = allowing.decide("x", "secret/plans", "");
  EXPECT_EQ(anonymous.outcome, decision::allow);
  EXPECT_EQ(anonymous.rule, std::nullopt);
  EXPECT_EQ(allowing.decide("x", "members/wiki", "dave").outcome, decision::allow);
  EXPECT_EQ(example(decision::deny).decide("x", "members/wiki", "").outcome, decision::deny);
}

TEST(policy, default_access_decides_when_no_rule_applies) {
  EXPECT_EQ(example(decision::deny).decide("x", "unlisted/repo", "alice").outcome, decision::deny);
  EXPECT_EQ(example(decision::allow).decide("x", "unlisted/repo", "alice").outcome, decision::allow);
  // Without access control, everyone pulls everything.
  EXPECT_EQ(policy().decide("x", "any/repo", "").outcome, decision::allow);
}

TEST(policy, unknown_group_matches_nobody) {
  const policy p({{"*", globs({"**"}), decision::allow, {"group:ghosts"}}}, {}, decision::deny);
  EXPECT_EQ(p.decide("x", "a/b", "alice").outcome, decision::deny);
}

}  // namespace
}  // namespace regcache::auth
