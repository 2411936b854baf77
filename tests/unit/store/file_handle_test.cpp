#include "regcache/store/file_handle.hpp"

#include "regcache/store/errc.hpp"
#include "unit/store/test_support.hpp"

#include <gtest/gtest.h>

namespace regcache::store {
namespace {

class file_handle_test : public ::testing::Test {
 protected:
  testing::temp_dir dir_;
};

TEST_F(file_handle_test, open_missing_is_not_found) {
  auto h = file_handle::open_read_only(dir_.path() / "absent");
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error(), errc::not_found);
}

TEST_F(file_handle_test, pread_reads_at_offsets_and_stops_at_end) {
  const auto p = dir_.path() / "f";
  testing::write_file(p, "0123456789");
  auto h = file_handle::open_read_only(p);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->size(), 10u);

  std::array<std::byte, 4> buf{};
  auto n = h->pread(buf, 3);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(static_cast<char>(buf[0]), '3');

  n = h->pread(buf, 8);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 2u) << "short only at the end of the file";

  n = h->pread(buf, 10);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0u);
  n = h->pread(buf, 1000);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0u);
}

TEST_F(file_handle_test, move_transfers_ownership) {
  const auto p = dir_.path() / "f";
  testing::write_file(p, "abc");
  auto h = file_handle::open_read_only(p);
  ASSERT_TRUE(h.has_value());
  const int fd = h->fd();
  file_handle moved(std::move(*h));
  EXPECT_EQ(h->fd(), -1);
  EXPECT_EQ(moved.fd(), fd);
  EXPECT_EQ(h->size(), 0u);

  file_handle assigned(-1);
  assigned = std::move(moved);
  EXPECT_EQ(assigned.fd(), fd);
  EXPECT_EQ(testing::read_all(assigned), "abc");
}

TEST_F(file_handle_test, pread_on_empty_handle_fails) {
  file_handle empty(-1);
  std::array<std::byte, 4> buf{};
  auto n = empty.pread(buf, 0);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error(), errc::io_error);
}

}  // namespace
}  // namespace regcache::store
