#include "regcache/cache/upstream_source.hpp"

#include "regcache/store/errc.hpp"

#include <gtest/gtest.h>

namespace regcache::cache {
namespace {

TEST(from_upstream, maps_every_upstream_answer_to_its_cache_error) {
  const struct {
    upstream::errc from;
    errc want;
  } table[] = {
      {upstream::errc::unauthorized, errc::upstream_unauthorized},
      {upstream::errc::denied, errc::upstream_denied},
      {upstream::errc::rate_limited, errc::upstream_rate_limited},
      {upstream::errc::rejected, errc::upstream_rejected},
      {upstream::errc::offline, errc::offline},
      {upstream::errc::server_error, errc::upstream_failed},
      {upstream::errc::range_not_continued, errc::upstream_invalid},
      {upstream::errc::invalid_answer, errc::upstream_invalid},
      {upstream::errc::body_too_large, errc::upstream_invalid},
      {upstream::errc::connect_failed, errc::upstream_unreachable},
      {upstream::errc::connect_timeout, errc::upstream_unreachable},
      {upstream::errc::read_timeout, errc::upstream_unreachable},
      {upstream::errc::tls_failed, errc::upstream_unreachable},
      {upstream::errc::protocol_error, errc::upstream_unreachable},
      {upstream::errc::connection_closed, errc::upstream_unreachable},
  };
  for (const auto& row : table)
    EXPECT_EQ(from_upstream(row.from, errc::manifest_unknown), row.want) << error_code(row.from).message();
}

TEST(from_upstream, not_found_is_what_the_caller_looked_for) {
  EXPECT_EQ(from_upstream(upstream::errc::not_found, errc::manifest_unknown), errc::manifest_unknown);
  EXPECT_EQ(from_upstream(upstream::errc::not_found, errc::blob_unknown), errc::blob_unknown);
}

TEST(from_upstream, other_errors_pass_unchanged) {
  EXPECT_EQ(from_upstream(upstream::errc::repository_not_allowed, errc::manifest_unknown),
            upstream::errc::repository_not_allowed);
  EXPECT_EQ(from_upstream(store::errc::no_space, errc::blob_unknown), store::errc::no_space);
  EXPECT_EQ(from_upstream(errc::digest_mismatch, errc::blob_unknown), errc::digest_mismatch);
}

}  // namespace
}  // namespace regcache::cache
