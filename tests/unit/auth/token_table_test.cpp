#include "regcache/auth/token_table.hpp"

#include "regcache/auth/secrets.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace regcache::auth {
namespace {

using ::testing::HasSubstr;

// printf %s robot-token-1 | sha256sum
constexpr std::string_view robot_line =
    "ci-robot sha256:901dc2ad9e6e6e2d4f833eb5b79c54e29c06fac4087a979a8b0304e40fd58494";

std::string refusal(std::string_view text) {
  try {
    (void)token_table::parse(text, "tokens");
  } catch (const file_error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(token_table, maps_a_token_to_its_identity) {
  const auto tokens = token_table::parse("# robots\n" + std::string(robot_line) + "\n", "tokens");
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens.identity_of("robot-token-1"), "ci-robot");
  EXPECT_EQ(tokens.identity_of("robot-token-2"), std::nullopt);
  EXPECT_EQ(tokens.identity_of(""), std::nullopt);
}

TEST(token_table, refuses_malformed_lines_and_repeated_hashes) {
  EXPECT_THAT(refusal("ci-robot robot-token-1"), HasSubstr("tokens line 1: expected <identity> sha256:"));
  EXPECT_THAT(refusal("ci-robot sha256:901DC2AD9E6E6E2D4F833EB5B79C54E29C06FAC4087A979A8B0304E40FD58494"),
              HasSubstr("line 1"));
  EXPECT_THAT(refusal("sha256:901dc2ad9e6e6e2d4f833eb5b79c54e29c06fac4087a979a8b0304e40fd58494"),
              HasSubstr("expected"));
  EXPECT_THAT(refusal(std::string(robot_line) + "\nother " + std::string(robot_line.substr(9))),
              HasSubstr("line 2: identity \"other\" repeats a token hash"));
}

}  // namespace
}  // namespace regcache::auth
