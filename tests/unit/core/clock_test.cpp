#include "regcache/core/clock.hpp"

#include <gtest/gtest.h>

namespace regcache::core {
namespace {

TEST(clock, parse_rfc3339) {
  const auto t = parse_rfc3339("2024-01-01T00:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(to_unix_ms(*t), 1'704'067'200'000);
  EXPECT_EQ(to_unix_ms(*parse_rfc3339("2024-01-01T01:00:00.5+01:00")), 1'704'067'200'500);
  EXPECT_EQ(to_unix_ms(*parse_rfc3339("2023-12-31T23:00:00-01:00")), 1'704'067'200'000);
  EXPECT_FALSE(parse_rfc3339(""));
  EXPECT_FALSE(parse_rfc3339("2024-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2024-01-01T00:00:00"));
  EXPECT_FALSE(parse_rfc3339("2024-01-01T00:00:00Zjunk"));
  EXPECT_FALSE(parse_rfc3339("2024-01-01T-1:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2024-01-01T0x:00:00Z"));
  // Outside what a nanosecond time_point holds: refused, not overflowed.
  EXPECT_FALSE(parse_rfc3339("2823-03-14T16:10:02+08:00"));
  EXPECT_FALSE(parse_rfc3339("0001-01-01T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("2200-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace regcache::core
