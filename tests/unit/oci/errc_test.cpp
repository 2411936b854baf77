#include "regcache/oci/errc.hpp"

#include <gtest/gtest.h>

namespace regcache::oci {
namespace {

TEST(oci_errc, converts_to_error_code_with_own_category) {
  const error_code ec = errc::manifest_too_large;
  EXPECT_EQ(&ec.category(), &oci_category());
  EXPECT_STREQ(ec.category().name(), "regcache.oci");
  EXPECT_EQ(ec, errc::manifest_too_large);
  EXPECT_NE(ec, errc::manifest_invalid);
}

TEST(oci_errc, every_value_has_a_message) {
  for (int v = static_cast<int>(errc::name_invalid); v <= static_cast<int>(errc::repository_glob_invalid); ++v) {
    const auto message = make_error_code(static_cast<errc>(v)).message();
    EXPECT_FALSE(message.empty());
    EXPECT_NE(message, "unknown oci error") << v;
  }
  EXPECT_EQ(error_code(999, oci_category()).message(), "unknown oci error");
}

}  // namespace
}  // namespace regcache::oci
