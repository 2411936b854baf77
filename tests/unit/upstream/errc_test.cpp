#include "regcache/upstream/errc.hpp"

#include <gtest/gtest.h>

namespace regcache::upstream {
namespace {

TEST(upstream_errc, converts_to_error_code_with_own_category) {
  const error_code ec = errc::connect_timeout;
  EXPECT_STREQ(ec.category().name(), "regcache.upstream");
  EXPECT_EQ(&ec.category(), &upstream_category());
  EXPECT_FALSE(ec.message().empty());
  EXPECT_EQ(error_code(42, upstream_category()).message(), "unknown upstream error");
}

TEST(upstream_errc, every_value_has_its_own_message) {
  for (int v = static_cast<int>(errc::invalid_url); v <= static_cast<int>(errc::invalid_answer); ++v)
    EXPECT_NE(error_code(v, upstream_category()).message(), "unknown upstream error") << v;
}

}  // namespace
}  // namespace regcache::upstream
