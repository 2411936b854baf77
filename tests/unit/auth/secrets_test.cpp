#include "regcache/auth/secrets.hpp"

#include <gtest/gtest.h>

namespace regcache::auth {
namespace {

TEST(constant_time_equal, compares_whole_byte_strings) {
  EXPECT_TRUE(constant_time_equal("s3cret", "s3cret"));
  EXPECT_FALSE(constant_time_equal("s3cret", "s3creT"));
  EXPECT_FALSE(constant_time_equal("s3cret", "s3cre"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST(random_secret, differs_every_time) { EXPECT_NE(random_secret(), random_secret()); }

TEST(parse_authorization, basic_with_any_case_scheme_and_colons_in_the_password) {
  // "alice:pa:ss" in Base64.
  auto c = parse_authorization("Basic YWxpY2U6cGE6c3M=");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, presented_credentials::scheme::basic);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->secret, "pa:ss");
  auto lower = parse_authorization("basic YWxpY2U6cGE6c3M");
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->secret, "pa:ss");
}

TEST(parse_authorization, bearer_token) {
  auto c = parse_authorization("Bearer  tok-123 ");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, presented_credentials::scheme::bearer);
  EXPECT_EQ(c->secret, "tok-123");
}

TEST(parse_authorization, refuses_other_schemes_and_malformed_payloads) {
  EXPECT_FALSE(parse_authorization("Digest username=alice"));
  EXPECT_FALSE(parse_authorization("Basic !!!!"));
  EXPECT_FALSE(parse_authorization("Basic YWxpY2U="));  // "alice": no colon
  EXPECT_FALSE(parse_authorization("Bearer "));
  EXPECT_FALSE(parse_authorization("Basic"));
  EXPECT_FALSE(parse_authorization(""));
}

}  // namespace
}  // namespace regcache::auth
