#include "regcache/upstream/rate_limit.hpp"

#include <gtest/gtest.h>

namespace {
using regcache::upstream::parse_rate_limit;

TEST(rate_limit, docker_hub_form_gives_count_and_window) {
  const auto v = parse_rate_limit("100;w=21600");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->count, 100u);
  EXPECT_EQ(v->window_seconds, 21600u);
}

TEST(rate_limit, spaces_other_parameters_and_later_elements_are_tolerated) {
  const auto v = parse_rate_limit(" 76 ; comment=x ; w = 3600 , 10;w=60");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->count, 76u);
  EXPECT_EQ(v->window_seconds, 3600u);
  const auto bare = parse_rate_limit("5");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->count, 5u);
  EXPECT_FALSE(bare->window_seconds);
}

TEST(rate_limit, malformed_values_are_rejected) {
  for (const char* bad : {"", ";w=1", "abc", "-1;w=2", "10;w=", "10;w=x", "10;w", "99999999999999999999999",
                          "1 0", "10;w=1e3"})
    EXPECT_FALSE(parse_rate_limit(bad)) << bad;
}

}  // namespace
