#include "regcache/auth/htpasswd.hpp"

#include "regcache/auth/secrets.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace regcache::auth {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// Written by `htpasswd -nbB alice 'correct horse'` and `htpasswd -nbB bob b0b`.
constexpr std::string_view alice_line = "alice:$2y$05$rNz0pOeuZAc.3XURBkn7ZeJrUin58wwtGdTE8apngyafLqBsRK1sm";
constexpr std::string_view bob_line = "bob:$2y$05$CtU2y6z3X9APD.LzsmeSAOtHj7/KdYZMhEwFVf2aTTeDnOM9/EyTG";

std::string refusal(std::string_view text) {
  try {
    (void)htpasswd::parse(text, "/etc/regcache/htpasswd");
  } catch (const file_error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(htpasswd, parses_bcrypt_users_skipping_comments_and_blank_lines) {
  const auto text = "# users\n" + std::string(alice_line) + "\r\n\n" + std::string(bob_line) + "\n";
  const auto users = htpasswd::parse(text, "f");
  EXPECT_EQ(users.size(), 2u);
  ASSERT_NE(users.hash_of("alice"), nullptr);
  EXPECT_EQ(*users.hash_of("alice"), alice_line.substr(6));
  EXPECT_EQ(users.hash_of("carol"), nullptr);
  ASSERT_NE(users.stand_in_hash(), nullptr);
  EXPECT_TRUE(*users.stand_in_hash() == *users.hash_of("alice") || *users.stand_in_hash() == *users.hash_of("bob"));
  EXPECT_EQ(htpasswd::parse("# nobody\n", "f").stand_in_hash(), nullptr);
}

TEST(htpasswd, refuses_every_other_hash_type_naming_file_line_and_user) {
  EXPECT_THAT(refusal(std::string(alice_line) + "\ncarol:$apr1$xCsQjRPH$iRbIYcyEJwygvR.o2kZj10\n"),
              AllOf(HasSubstr("/etc/regcache/htpasswd line 2"), HasSubstr("\"carol\""), HasSubstr("MD5"),
                    HasSubstr("htpasswd -B")));
  EXPECT_THAT(refusal("dave:{SHA}EfatjsUqKYSrqv18O1FlA3hcIHI=\n"), AllOf(HasSubstr("line 1"), HasSubstr("SHA-1")));
  EXPECT_THAT(refusal("erin:plaintext"), HasSubstr("crypt or plain text"));
  EXPECT_THAT(refusal("frank:$2a$05$rNz0pOeuZAc.3XURBkn7ZeJrUin58wwtGdTE8apngyafLqBsRK1sm"), HasSubstr("$2a$"));
  EXPECT_THAT(refusal("gina:$2y$05$short"), HasSubstr("malformed bcrypt"));
  EXPECT_THAT(refusal("hal:$2y$99$rNz0pOeuZAc.3XURBkn7ZeJrUin58wwtGdTE8apngyafLqBsRK1sm"), HasSubstr("\"hal\""));
  EXPECT_THAT(refusal("no colon here"), HasSubstr("expected user:hash"));
  EXPECT_THAT(refusal(std::string(alice_line) + "\n" + std::string(alice_line)), HasSubstr("given twice"));
}

TEST(htpasswd, refusals_never_echo_the_hash) {
  EXPECT_THAT(refusal("carol:$apr1$xCsQjRPH$iRbIYcyEJwygvR.o2kZj10"), ::testing::Not(HasSubstr("xCsQjRPH")));
}

TEST(bcrypt_matches, verifies_what_htpasswd_wrote) {
  const std::string hash(alice_line.substr(6));
  EXPECT_TRUE(bcrypt_matches("correct horse", hash));
  EXPECT_FALSE(bcrypt_matches("correct horse ", hash));
  EXPECT_FALSE(bcrypt_matches("", hash));
  EXPECT_FALSE(bcrypt_matches(std::string_view("correct horse\0x", 15), hash));
}

// A hash made now by the htpasswd binary (apache2-utils, in the test
// profile of scripts/install-deps.sh), with its $2y$ prefix and cost.
TEST(bcrypt_matches, verifies_a_hash_htpasswd_makes_now) {
  const std::string out = ::testing::TempDir() + "htpasswd_test_out";
  const std::string command = "htpasswd -nbB -C 4 zoe 'tr0ub4dor&3' > " + out;
  ASSERT_EQ(std::system(command.c_str()), 0) << "htpasswd (apache2-utils) must be installed";
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  std::remove(out.c_str());
  const auto users = htpasswd::parse(line, out);
  ASSERT_NE(users.hash_of("zoe"), nullptr);
  EXPECT_TRUE(bcrypt_matches("tr0ub4dor&3", *users.hash_of("zoe")));
  EXPECT_FALSE(bcrypt_matches("tr0ub4dor&4", *users.hash_of("zoe")));
}

}  // namespace
}  // namespace regcache::auth
