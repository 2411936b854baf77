#include "regcache/auth/audit.hpp"

#include <boost/json/parse.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace regcache::auth {
namespace {

using ::testing::HasSubstr;

struct audit_fixture {
  explicit audit_fixture(bool json, std::size_t remembered = 100)
      : trail([this](const std::string& line) { lines.push_back(line); }, json, registry, clock, remembered) {}
  core::manual_clock clock{core::clock::time_point{std::chrono::milliseconds{1'764'934'800'123}}};
  metrics::registry registry;
  std::vector<std::string> lines;
  audit trail;
};

const audit_event denied{"deny", "bob", "10.0.0.7", "docker.io", "team-a/app", "v1", {}};

TEST(audit, text_lines_carry_every_field) {
  audit_fixture f(false);
  f.trail.record(denied);
  ASSERT_EQ(f.lines.size(), 1u);
  EXPECT_EQ(f.lines[0],
            "audit time=2025-12-05T11:40:00.123Z decision=deny identity=bob client=10.0.0.7 upstream=docker.io "
            "repository=team-a/app reference=v1 digest=-");
}

TEST(audit, text_values_with_spaces_or_quotes_are_quoted) {
  audit_fixture f(false);
  audit_event odd = denied;
  odd.identity = "O'Brien \"the admin\"";
  odd.client = "";
  f.trail.record(odd);
  EXPECT_THAT(f.lines[0], HasSubstr(R"(identity="O'Brien \"the admin\"" client="")"));
}

TEST(audit, json_lines_are_objects) {
  audit_fixture f(true);
  audit_event anonymous = denied;
  anonymous.identity = {};
  anonymous.decision = "unauthorized";
  f.trail.record(anonymous);
  const auto line = boost::json::parse(f.lines[0]).as_object();
  EXPECT_EQ(line.at("time"), "2025-12-05T11:40:00.123Z");
  EXPECT_EQ(line.at("audit"), "access");
  EXPECT_EQ(line.at("decision"), "unauthorized");
  EXPECT_EQ(line.at("identity"), "anonymous");
  EXPECT_EQ(line.at("client"), "10.0.0.7");
  EXPECT_EQ(line.at("upstream"), "docker.io");
  EXPECT_EQ(line.at("repository"), "team-a/app");
  EXPECT_EQ(line.at("reference"), "v1");
  EXPECT_EQ(line.at("digest"), "-");
}

TEST(audit, only_the_first_pull_of_a_digest_by_an_identity_is_recorded) {
  audit_fixture f(false);
  const audit_event pull{"allow", "alice", "10.0.0.8", "docker.io", "team-a/app", "v1", "sha256:aa"};
  f.trail.record_pull(pull);
  f.trail.record_pull(pull);
  audit_event by_tag_other = pull;
  by_tag_other.reference = "latest";
  f.trail.record_pull(by_tag_other);
  audit_event other_identity = pull;
  other_identity.identity = "bob";
  f.trail.record_pull(other_identity);
  audit_event other_digest = pull;
  other_digest.digest = "sha256:bb";
  f.trail.record_pull(other_digest);
  ASSERT_EQ(f.lines.size(), 3u);
  EXPECT_THAT(f.lines[0], HasSubstr("decision=allow identity=alice"));
  EXPECT_THAT(f.lines[0], HasSubstr("digest=sha256:aa"));
  EXPECT_THAT(f.lines[1], HasSubstr("identity=bob"));
  EXPECT_THAT(f.lines[2], HasSubstr("digest=sha256:bb"));
}

TEST(audit, remembered_pulls_are_bounded) {
  audit_fixture f(false, 1);
  const audit_event a{"allow", "alice", "c", "u", "r", "v1", "sha256:aa"};
  audit_event b = a;
  b.digest = "sha256:bb";
  f.trail.record_pull(a);
  f.trail.record_pull(b);
  f.trail.record_pull(a);
  EXPECT_EQ(f.lines.size(), 3u);
}

TEST(audit, decisions_are_counted_by_label) {
  audit_fixture f(false);
  f.trail.count("allow");
  f.trail.count("allow");
  f.trail.count("deny");
  f.trail.count("unauthorized");
  const auto text = f.registry.expose();
  EXPECT_THAT(text, HasSubstr(R"(regcache_access_decisions_total{decision="allow"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(regcache_access_decisions_total{decision="deny"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(regcache_access_decisions_total{decision="unauthorized"} 1)"));
}

}  // namespace
}  // namespace regcache::auth
