#include "regcache/store/errc.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace regcache::store {
namespace {

TEST(store_errc, converts_to_error_code_with_messages) {
  const error_code ec = errc::no_space;
  EXPECT_EQ(ec.category().name(), std::string("regcache.store"));
  EXPECT_EQ(ec, errc::no_space);
  for (int e = static_cast<int>(errc::not_found); e <= static_cast<int>(errc::writer_closed); ++e)
    EXPECT_NE(make_error_code(static_cast<errc>(e)).message(), "unknown store error");
}

TEST(store_errc, errno_mapping_singles_out_a_full_disk) {
  EXPECT_EQ(error_from_errno(ENOSPC), errc::no_space);
  EXPECT_EQ(error_from_errno(EDQUOT), errc::no_space);
  EXPECT_EQ(error_from_errno(EIO), errc::io_error);
  EXPECT_EQ(error_from_errno(EACCES), errc::io_error);
}

}  // namespace
}  // namespace regcache::store
