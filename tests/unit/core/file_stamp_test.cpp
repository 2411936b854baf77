#include "regcache/core/file_stamp.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace regcache::core {
namespace {

namespace fs = std::filesystem;

class file_stamp_test : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

  const fs::path dir_ = fs::path(::testing::TempDir()) /
                        ("file_stamp_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
};

TEST_F(file_stamp_test, none_for_an_empty_or_missing_path) {
  EXPECT_FALSE(stamp_of({}));
  EXPECT_FALSE(stamp_of(dir_ / "missing"));
}

TEST_F(file_stamp_test, the_same_file_keeps_its_stamp_and_a_replaced_one_gets_another) {
  const auto file = dir_ / "token";
  write(file, "first");
  const auto first = stamp_of(file);
  ASSERT_TRUE(first);
  EXPECT_EQ(stamp_of(file), first);
  write(dir_ / "token.new", "first");  // same content and size, a new file
  fs::rename(dir_ / "token.new", file);
  EXPECT_NE(stamp_of(file), first);
}

TEST_F(file_stamp_test, follows_a_swapped_symlink_to_the_file_it_names_now) {
  // A Kubernetes Secret volume: token -> ..data/token, ..data -> ..v1, then ..v2.
  for (const char* version : {"..v1", "..v2"}) {
    fs::create_directories(dir_ / version);
    write(dir_ / version / "token", version);
  }
  fs::create_directory_symlink("..v1", dir_ / "..data");
  fs::create_symlink("..data/token", dir_ / "token");
  const auto before = stamp_of(dir_ / "token");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->inode, stamp_of(dir_ / "..v1" / "token")->inode);
  fs::create_directory_symlink("..v2", dir_ / "..data_tmp");
  fs::rename(dir_ / "..data_tmp", dir_ / "..data");
  EXPECT_EQ(stamp_of(dir_ / "token")->inode, stamp_of(dir_ / "..v2" / "token")->inode);
}

}  // namespace
}  // namespace regcache::core
