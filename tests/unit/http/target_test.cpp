#include "regcache/http/target.hpp"

#include "regcache/http/errc.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regcache::http {
namespace {

TEST(parse_target, path_only) {
  auto t = parse_target("/v2/library/alpine/manifests/latest");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/v2/library/alpine/manifests/latest");
  EXPECT_TRUE(t->query.empty());
  EXPECT_FALSE(t->query_value("ns"));
}

TEST(parse_target, path_stays_raw) {
  auto t = parse_target("/v2/a%2Fb/manifests/x+y");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/v2/a%2Fb/manifests/x+y");
  EXPECT_TRUE(parse_target("/%zz"));  // the path is not decoded, so not checked either
}

TEST(parse_target, query_parameters) {
  auto t = parse_target("/v2/x/tags/list?n=10&last=v1.2&ns=registry.example.com%3A5000");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/v2/x/tags/list");
  ASSERT_EQ(t->query.size(), 3u);
  EXPECT_EQ(t->query_value("n"), "10");
  EXPECT_EQ(t->query_value("last"), "v1.2");
  EXPECT_EQ(t->query_value("ns"), "registry.example.com:5000");
  EXPECT_FALSE(t->query_value("N"));
}

TEST(parse_target, repeated_and_empty_parameters) {
  auto t = parse_target("/v2/x/referrers/d?artifactType=a%2Fb&&artifactType=c+d&flag&=v&e=");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->query_values("artifactType"), (std::vector<std::string_view>{"a/b", "c d"}));
  EXPECT_EQ(t->query_value("artifactType"), "a/b");
  EXPECT_EQ(t->query_value("flag"), "");
  EXPECT_EQ(t->query_value(""), "v");
  EXPECT_EQ(t->query_value("e"), "");
  EXPECT_TRUE(t->query_values("none").empty());
  ASSERT_TRUE(parse_target("/?"));
  EXPECT_TRUE(parse_target("/?")->query.empty());
  EXPECT_EQ(parse_target("/?&&&")->query.size(), 0u);
}

TEST(parse_target, decoding) {
  auto t = parse_target("/p?k%3d=v%3D%26x&plus=%2B+&utf=%C3%A9&nul=%00&eq=a=b");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->query_value("k="), "v=&x");
  EXPECT_EQ(t->query_value("plus"), "+ ");
  EXPECT_EQ(t->query_value("utf"), "\xc3\xa9");
  EXPECT_EQ(t->query_value("nul"), std::string_view("\0", 1));
  EXPECT_EQ(t->query_value("eq"), "a=b");
}

TEST(parse_target, malformed_escapes) {
  for (const char* target : {"/?a=%", "/?a=%2", "/?a=%zz", "/?a=%2g", "/?%=1", "/?a%=1", "/?a=1%"}) {
    auto t = parse_target(target);
    ASSERT_FALSE(t) << target;
    EXPECT_EQ(t.error(), errc::invalid_target);
  }
}

TEST(parse_target, only_origin_form) {
  for (const std::string& target : std::vector<std::string>{std::string(), std::string("*"), std::string("v2/"),
                                   std::string("http://example.com/v2/"), std::string("example.com:443"),
                                   std::string("/a b"), std::string("/a\tb"), std::string("/a#frag"),
                                   std::string("/a\x7f"), std::string("/caf\xc3\xa9"), std::string("/a\0", 3),
                                   std::string("/?q=\r\n")}) {
    auto t = parse_target(target);
    ASSERT_FALSE(t) << target;
    EXPECT_EQ(t.error(), errc::invalid_target);
  }
}

TEST(parse_target, length_bound) {
  const std::string ok = "/" + std::string(max_target_length - 1, 'a');
  EXPECT_TRUE(parse_target(ok));
  EXPECT_FALSE(parse_target(ok + "a"));
}

}  // namespace
}  // namespace regcache::http
