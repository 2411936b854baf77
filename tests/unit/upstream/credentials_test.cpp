#include "regcache/upstream/credentials.hpp"

#include "regcache/upstream/errc.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace regcache::upstream {
namespace {

class credentials_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("regcache-cred-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  std::filesystem::path dir_;
};

TEST_F(credentials_test, file_loses_exactly_one_trailing_newline) {
  auto c = load_credentials("alice", write("p1", "s3cret\n"), "");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "s3cret");
  EXPECT_EQ(load_credentials("a", write("p2", "s3cret\r\n"), "")->password, "s3cret");
  EXPECT_EQ(load_credentials("a", write("p3", "s3cret\n\n"), "")->password, "s3cret\n");
  EXPECT_EQ(load_credentials("a", write("p4", " spaced "), "")->password, " spaced ");
}

TEST_F(credentials_test, missing_file_is_an_error) {
  auto c = load_credentials("alice", (dir_ / "absent").string(), "");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), make_error_code(errc::credentials_unavailable));
}

TEST_F(credentials_test, environment_variable) {
  ::setenv("REGCACHE_TEST_PASSWORD", "from-env", 1);
  auto c = load_credentials("bob", "", "REGCACHE_TEST_PASSWORD");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->password, "from-env");
  ::unsetenv("REGCACHE_TEST_PASSWORD");
  EXPECT_FALSE(load_credentials("bob", "", "REGCACHE_TEST_PASSWORD"));
}

TEST_F(credentials_test, redacted_never_shows_the_password) {
  const credentials c{"alice", "s3cret"};
  EXPECT_EQ(redacted(c).find("s3cret"), std::string::npos);
  EXPECT_NE(redacted(c).find("alice"), std::string::npos);
}

TEST(basic_authorization, is_base64_of_user_colon_password) {
  EXPECT_EQ(basic_authorization({"Aladdin", "open sesame"}), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

}  // namespace
}  // namespace regcache::upstream
