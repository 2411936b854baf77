#include "regcache/http/errc.hpp"

#include <gtest/gtest.h>

namespace regcache::http {
namespace {

TEST(http_errc, converts_to_error_code_with_own_category) {
  const error_code ec = errc::invalid_target;
  EXPECT_STREQ(ec.category().name(), "regcache.http");
  EXPECT_EQ(&ec.category(), &http_category());
  EXPECT_FALSE(ec.message().empty());
  EXPECT_EQ(error_code(42, http_category()).message(), "unknown http error");
}

}  // namespace
}  // namespace regcache::http
