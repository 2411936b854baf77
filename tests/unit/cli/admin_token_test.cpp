#include "regcache/cli/admin_token.hpp"

#include "unit/store/test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace regcache::cli {
namespace {
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string token = "0123456789abcdef0123456789abcdef";

std::string usage_error_of(const std::string& flag, const char* env, const cli_settings& settings) {
  try {
    (void)resolve_admin_token(flag, env, settings);
  } catch (const usage_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(resolve_admin_token, the_flag_then_the_variable_then_the_config_file) {
  store::testing::temp_dir dir;
  const auto flag_file = (dir.path() / "flag").string();
  const auto config_file = (dir.path() / "config").string();
  std::ofstream(flag_file) << token << "-flag\n";
  std::ofstream(config_file) << token << "-config\n";
  cli_settings settings;
  settings.admin_token_file = config_file;
  const std::string from_env = token + "-env";
  EXPECT_EQ(resolve_admin_token(flag_file, from_env.c_str(), settings), token + "-flag");
  EXPECT_EQ(resolve_admin_token("", from_env.c_str(), settings), token + "-env");
  EXPECT_EQ(resolve_admin_token("", nullptr, settings), token + "-config");
  EXPECT_EQ(resolve_admin_token("", nullptr, cli_settings{}), "") << "no token: none is sent";
}

TEST(resolve_admin_token, a_bad_token_names_its_source_but_not_the_token) {
  store::testing::temp_dir dir;
  const auto file = (dir.path() / "token").string();
  std::ofstream(file) << "short-secret\n";
  EXPECT_THAT(usage_error_of(file, nullptr, {}),
              AllOf(HasSubstr("--admin-token-file " + file), Not(HasSubstr("short-secret"))));
  EXPECT_THAT(usage_error_of("", "two words-secret-value", {}),
              AllOf(HasSubstr("REGCACHE_ADMIN_TOKEN"), HasSubstr("space"), Not(HasSubstr("secret-value"))));
  EXPECT_THAT(usage_error_of((dir.path() / "missing").string(), nullptr, {}), HasSubstr("cannot read"));
  cli_settings settings;
  settings.admin_token_file = (dir.path() / "unreadable").string();
  EXPECT_THAT(usage_error_of("", nullptr, settings),
              AllOf(HasSubstr("admin.token_file"), HasSubstr("--admin-token-file"), HasSubstr("REGCACHE_ADMIN_TOKEN")));
}

}  // namespace
}  // namespace regcache::cli
