#include "regcache/store/errc.hpp"
#include "unit/store/index_fixture.hpp"

#include <gtest/gtest.h>

namespace regcache::store {
namespace {

using testing::index_test;

TEST_F(index_test, verdict_rows_round_trip_per_repository_and_persist) {
  EXPECT_FALSE(idx_->get_verdict(a_, "docker.io", "team/app")->has_value());
  const verdict_record passed{.failure = 0, .checked_ms = 5, .key_set = "sha256:k", .verified_by = "sha256:f",
                              .reason = "signed"};
  const verdict_record failed{.failure = 3, .checked_ms = -1, .key_set = "sha256:k", .verified_by = "",
                              .reason = std::string("no key\0verifies", 15)};
  ASSERT_FALSE(idx_->put_verdict(a_, "docker.io", "team/app", passed));
  ASSERT_FALSE(idx_->put_verdict(a_, "docker.io", "team/other", failed));
  reopen();
  EXPECT_EQ(**idx_->get_verdict(a_, "docker.io", "team/app"), passed);
  EXPECT_EQ(**idx_->get_verdict(a_, "docker.io", "team/other"), failed);
  EXPECT_FALSE(idx_->get_verdict(a_, "ghcr.io", "team/app")->has_value());
  EXPECT_FALSE(idx_->get_verdict(b_, "docker.io", "team/app")->has_value());
}

TEST_F(index_test, removing_a_digests_verdicts_leaves_the_others) {
  ASSERT_FALSE(idx_->put_verdict(a_, "docker.io", "r1", {}));
  ASSERT_FALSE(idx_->put_verdict(a_, "ghcr.io", "r2", {}));
  ASSERT_FALSE(idx_->put_verdict(b_, "docker.io", "r1", {}));
  EXPECT_EQ(*idx_->remove_verdicts(a_), 2u);
  EXPECT_FALSE(idx_->get_verdict(a_, "docker.io", "r1")->has_value());
  EXPECT_FALSE(idx_->get_verdict(a_, "ghcr.io", "r2")->has_value());
  EXPECT_TRUE(idx_->get_verdict(b_, "docker.io", "r1")->has_value());
  EXPECT_EQ(*idx_->remove_verdicts(a_), 0u);
}

TEST_F(index_test, undecodable_verdict_rows_are_reported) {
  std::string key = a_.str();
  for (const std::string_view part : {"docker.io", "r"}) {
    key += std::string{'\0', '\0', '\0', static_cast<char>(part.size())};
    key += part;
  }
  // A key_set length far beyond the bytes that follow.
  put_raw("verdicts", key, std::string("\x01\0\0\0\0", 5) + std::string(8, '\0') + "\xff\xff\xff\xff");
  reopen();
  EXPECT_EQ(idx_->get_verdict(a_, "docker.io", "r").error(), errc::corrupt_record);
}

}  // namespace
}  // namespace regcache::store
