#include "regcache/admin/bearer_token.hpp"

#include "unit/store/test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace regcache::admin {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;

const std::string token = "0123456789abcdef0123456789abcdef";

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

bool accepts(bearer_token& t, std::vector<std::string_view> headers) { return t.accepts(headers); }

TEST(parse_token, takes_one_line_and_ignores_its_line_break) {
  EXPECT_EQ(parse_token(token).token, token);
  EXPECT_EQ(parse_token(token + "\n").token, token);
  EXPECT_EQ(parse_token(token + "\r\n").token, token);
  EXPECT_EQ(parse_token(std::string(max_token_length, 'x')).token, std::string(max_token_length, 'x'));
}

TEST(parse_token, refuses_what_is_not_one_long_token_without_echoing_it) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty"},
      {"\n", "empty"},
      {"short-secret", "shorter than 16"},
      {token + "\n\n", "line break"},
      {token + " ", "space"},
      {" " + token, "space"},
      {token + "\nsecond-line-secret", "line break"},
      {token + "\t", "control"},
      {token + "\xc3\xa9", "non-ASCII"},
      {std::string(max_token_length + 1, 'x'), "longer than 4096"},
  };
  for (const auto& [text, why] : cases) {
    const auto read = parse_token(text);
    EXPECT_TRUE(read.token.empty()) << why;
    EXPECT_THAT(read.problem, HasSubstr(why));
    EXPECT_THAT(read.problem, Not(HasSubstr("secret")));
  }
}

TEST(bearer_token, a_file_without_a_valid_token_stops_startup) {
  store::testing::temp_dir dir;
  EXPECT_THROW(bearer_token(dir.path() / "missing"), std::runtime_error);
  write(dir.path() / "short", "tiny");
  try {
    bearer_token t(dir.path() / "short");
    FAIL() << "a short token was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("shorter than 16"));
    EXPECT_THAT(e.what(), Not(HasSubstr("tiny")));
  }
}

TEST(bearer_token, accepts_exactly_one_bearer_header_with_the_token) {
  store::testing::temp_dir dir;
  write(dir.path() / "token", token + "\n");
  bearer_token t(dir.path() / "token");
  EXPECT_TRUE(accepts(t, {"Bearer " + token}));
  EXPECT_TRUE(accepts(t, {"bearer " + token}));
  EXPECT_TRUE(accepts(t, {"BEARER  " + token + " "}));
  EXPECT_FALSE(accepts(t, {}));
  EXPECT_FALSE(accepts(t, {token}));
  EXPECT_FALSE(accepts(t, {"Basic " + token}));
  EXPECT_FALSE(accepts(t, {"Bearer"}));
  EXPECT_FALSE(accepts(t, {"Bearer "}));
  EXPECT_FALSE(accepts(t, {"Bearer " + token.substr(1)}));
  EXPECT_FALSE(accepts(t, {"Bearer " + token + "0"}));
  EXPECT_FALSE(accepts(t, {"Bearer " + token + "\n"}));
  EXPECT_FALSE(accepts(t, {"Bearer " + token, "Bearer " + token}));
}

TEST(bearer_token, a_rotated_file_is_read_again_and_the_old_token_refused) {
  store::testing::temp_dir dir;
  const auto secret_dir = dir.path() / "secret";
  std::filesystem::create_directories(secret_dir);
  // A Kubernetes Secret volume: the file is a symlink into a directory
  // that is swapped whole (..data), never written in place.
  std::filesystem::create_directories(secret_dir / "v1");
  write(secret_dir / "v1" / "token", token);
  std::filesystem::create_directory_symlink("v1", secret_dir / "..data");
  std::filesystem::create_symlink("..data/token", secret_dir / "token");
  bearer_token t(secret_dir / "token");
  ASSERT_TRUE(accepts(t, {"Bearer " + token}));

  const std::string rotated = "fedcba9876543210fedcba9876543210-rotated";
  std::filesystem::create_directories(secret_dir / "v2");
  write(secret_dir / "v2" / "token", rotated + "\n");
  std::filesystem::create_directory_symlink("v2", secret_dir / "..data_tmp");
  std::filesystem::rename(secret_dir / "..data_tmp", secret_dir / "..data");
  EXPECT_FALSE(accepts(t, {"Bearer " + token}));
  EXPECT_TRUE(accepts(t, {"Bearer " + rotated}));

  // A file that no longer holds a valid token refuses everyone (fail
  // closed), and a valid one later is taken again.
  write(secret_dir / "v2" / "token", "");
  EXPECT_FALSE(accepts(t, {"Bearer " + rotated}));
  EXPECT_FALSE(accepts(t, {"Bearer "}));
  std::filesystem::remove(secret_dir / "v2" / "token");
  EXPECT_FALSE(accepts(t, {"Bearer " + rotated}));
  write(secret_dir / "v2" / "token", token + "-third");
  EXPECT_TRUE(accepts(t, {"Bearer " + token + "-third"}));
}

}  // namespace
}  // namespace regcache::admin
