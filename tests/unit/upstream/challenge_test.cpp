#include "regcache/upstream/challenge.hpp"

#include <gtest/gtest.h>

#include <array>

namespace regcache::upstream {
namespace {

std::vector<challenge> parse(std::initializer_list<std::string_view> values) {
  const std::vector<std::string_view> v(values);
  return parse_challenges(v);
}

TEST(challenge, docker_hub_bearer) {
  const auto c = parse({R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push")"});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c[0].param("service"), "registry.docker.io");
  EXPECT_EQ(c[0].param("scope"), "repository:samalba/my-app:pull,push");
  EXPECT_EQ(c[0].param("error"), std::nullopt);
}

TEST(challenge, names_are_case_insensitive_and_lowercased) {
  const auto c = parse({R"(BASIC Realm="Registry Realm", CharSet=UTF-8)"});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params[0].first, "realm");
  EXPECT_EQ(c[0].param("REALM"), "Registry Realm");
  EXPECT_EQ(c[0].param("charset"), "UTF-8");
}

TEST(challenge, several_challenges_in_one_value_and_across_values) {
  const auto c = parse({R"(Basic realm="a, b", Bearer realm="https://t/x", service=reg)", R"(Negotiate abc+/==)",
                        R"(Digest realm="d", nonce="n")"});
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].param("realm"), "a, b");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].param("realm"), "https://t/x");
  EXPECT_EQ(c[1].param("service"), "reg");
  EXPECT_EQ(c[2].scheme, "negotiate");
  EXPECT_EQ(c[2].token68, "abc+/==");
  EXPECT_TRUE(c[2].params.empty());
  EXPECT_EQ(c[3].scheme, "digest");
  EXPECT_EQ(c[3].param("nonce"), "n");
}

TEST(challenge, quoted_strings_unescape) {
  const auto c = parse({R"(Bearer realm="a\"b\\c", error="x,y=z")"});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].param("realm"), R"(a"b\c)");
  EXPECT_EQ(c[0].param("error"), "x,y=z");
}

TEST(challenge, whitespace_around_equals_and_empty_list_elements) {
  const auto c = parse({" ,, Bearer  realm = \"r\" ,\t, service=s ,"});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].param("realm"), "r");
  EXPECT_EQ(c[0].param("service"), "s");
}

TEST(challenge, scheme_without_params) {
  const auto c = parse({"Bearer", "Basic"});
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_TRUE(c[0].params.empty());
}

TEST(challenge, garbage_yields_what_parsed) {
  EXPECT_TRUE(parse({""}).empty());
  EXPECT_TRUE(parse({"=== ,,, \"\"\""}).empty());
  const auto unterminated = parse({R"(Bearer realm="https://r", service="unterminated)"});
  ASSERT_EQ(unterminated.size(), 1u);
  EXPECT_EQ(unterminated[0].param("realm"), "https://r");
  EXPECT_EQ(unterminated[0].param("service"), std::nullopt);
  const auto junk = parse({R"(Bearer realm="r"junk junk, service=s, @@@, Basic realm=b)"});
  ASSERT_EQ(junk.size(), 2u);
  EXPECT_EQ(junk[0].param("realm"), "r");
  EXPECT_EQ(junk[0].param("service"), "s");
  EXPECT_EQ(junk[1].param("realm"), "b");
  const auto trailing_backslash = parse({"Bearer realm=\"abc\\"});
  ASSERT_EQ(trailing_backslash.size(), 1u);
  EXPECT_TRUE(trailing_backslash[0].params.empty());
}

TEST(challenge, params_before_any_scheme_are_ignored) {
  const auto c = parse({"realm=x, Bearer realm=y"});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].param("realm"), "y");
}

TEST(challenge, bounded) {
  std::string many;
  for (int i = 0; i < 200; ++i) many += "Basic realm=r" + std::to_string(i) + ", ";
  EXPECT_EQ(parse({many}).size(), max_challenges);

  const std::string huge = "Bearer realm=\"" + std::string(max_header_bytes, 'x') + "\"";
  const auto c = parse({huge, "Basic realm=ok"});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");

  std::string params = "Bearer ";
  for (int i = 0; i < 100; ++i) params += "p" + std::to_string(i) + "=v, ";
  const auto p = parse({params});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].params.size(), max_params);
}

}  // namespace
}  // namespace regcache::upstream
