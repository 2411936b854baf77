#include "regcache/http/token_bucket.hpp"

#include <gtest/gtest.h>

namespace regcache::http {
namespace {

using namespace std::chrono_literals;
const auto start = token_bucket::clock::time_point{} + 1h;

TEST(token_bucket, gives_the_burst_at_once_then_refuses) {
  token_bucket bucket(3, 1, start);
  EXPECT_TRUE(bucket.take(start));
  EXPECT_TRUE(bucket.take(start));
  EXPECT_TRUE(bucket.take(start));
  EXPECT_FALSE(bucket.take(start));
}

TEST(token_bucket, refills_at_its_rate) {
  token_bucket bucket(2, 10, start);
  EXPECT_TRUE(bucket.take(start));
  EXPECT_TRUE(bucket.take(start));
  EXPECT_FALSE(bucket.take(start + 50ms));  // half a token
  EXPECT_TRUE(bucket.take(start + 100ms));
  EXPECT_FALSE(bucket.take(start + 100ms));
}

TEST(token_bucket, never_holds_more_than_the_burst) {
  token_bucket bucket(2, 1000, start);
  const auto later = start + 1h;
  EXPECT_TRUE(bucket.take(later));
  EXPECT_TRUE(bucket.take(later));
  EXPECT_FALSE(bucket.take(later));
}

TEST(token_bucket, a_clock_going_back_takes_nothing_back) {
  token_bucket bucket(1, 1, start);
  EXPECT_TRUE(bucket.take(start));
  EXPECT_FALSE(bucket.take(start - 10s));
  EXPECT_TRUE(bucket.take(start + 1s));
}

}  // namespace
}  // namespace regcache::http
