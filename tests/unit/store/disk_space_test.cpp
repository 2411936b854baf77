#include "regcache/store/disk_space.hpp"

#include "regcache/store/errc.hpp"
#include "unit/store/test_support.hpp"

#include <gtest/gtest.h>

namespace regcache::store {
namespace {

TEST(disk_space_test, filesystem_space_measures_the_filesystem_holding_the_path) {
  testing::temp_dir dir;
  auto space = filesystem_space(dir.path())();
  ASSERT_TRUE(space.has_value()) << space.error().message();
  const auto expected = std::filesystem::space(dir.path());
  EXPECT_EQ(space->capacity, expected.capacity);
  EXPECT_GT(space->capacity, 0u);
  EXPECT_LE(space->available, space->capacity);
}

TEST(disk_space_test, an_absent_path_is_an_error) {
  testing::temp_dir dir;
  auto space = filesystem_space(dir.path() / "absent")();
  ASSERT_FALSE(space.has_value());
  EXPECT_EQ(space.error(), errc::io_error);
}

}  // namespace
}  // namespace regcache::store
