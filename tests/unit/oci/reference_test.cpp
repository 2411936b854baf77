#include "regcache/oci/reference.hpp"

#include "regcache/oci/errc.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regcache::oci {
namespace {

const std::string hex64(64, 'a');

TEST(repository_name, accepts_the_grammar) {
  for (const char* name : {"a", "0", "alpine", "library/alpine", "a/b/c/d/e", "my.registry_name__x-y---z/0",
                           "a.b", "a_b", "a__b", "a-b", "a--b", "ubuntu2204", "k8s.gcr.io-mirror/pause"}) {
    EXPECT_TRUE(is_valid_repository_name(name)) << name;
  }
}

TEST(repository_name, rejects_everything_else) {
  for (const char* name : {"", "A", "Library/alpine", "a/", "/a", "a//b", "a..b", "a._b", "a___b", "-a", "a-", "a_",
                           "a.", ".a", "_a", "a/-b", "a/.b", "a-_b", "a_-b", "a b", "a:5000/b", "a@b", "a/../b",
                           "a/./b", "..", "a%2fb", "caf\xc3\xa9", "a\nb", "a\tb"}) {
    EXPECT_FALSE(is_valid_repository_name(name)) << name;
  }
  EXPECT_FALSE(is_valid_repository_name(std::string_view("a\0b", 3)));
}

TEST(repository_name, is_bounded_to_255_bytes) {
  const std::string ok(255, 'a');
  EXPECT_TRUE(is_valid_repository_name(ok));
  EXPECT_FALSE(is_valid_repository_name(ok + "a"));
  std::string components;
  while (components.size() < 250) components += "ab/";
  components += "c";
  EXPECT_TRUE(is_valid_repository_name(components));
  EXPECT_FALSE(is_valid_repository_name(std::string(100'000, 'a')));
}

TEST(tag, accepts_the_grammar) {
  for (const char* tag : {"latest", "_", "_x", "0", "v1.0.0-rc.1", "3.19", "UPPER_case", "sha256-abc", "a--b..c__"}) {
    EXPECT_TRUE(is_valid_tag(tag)) << tag;
  }
  EXPECT_TRUE(is_valid_tag(std::string(128, 'x')));
}

TEST(tag, rejects_everything_else) {
  for (const char* tag : {"", ".x", "-x", "a/b", "a:b", "a@b", "a b", "a+b", "caf\xc3\xa9", "a%20"}) {
    EXPECT_FALSE(is_valid_tag(tag)) << tag;
  }
  EXPECT_FALSE(is_valid_tag(std::string(129, 'x')));
}

TEST(parse_reference, tag) {
  auto r = parse_reference("v1.2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text, "v1.2");
  EXPECT_FALSE(r->is_digest());
}

TEST(parse_reference, sha256_and_sha512_digests) {
  auto r = parse_reference("sha256:" + hex64);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->is_digest());
  EXPECT_EQ(r->text, "sha256:" + hex64);
  EXPECT_EQ(r->digest->str(), r->text);

  auto r512 = parse_reference("sha512:" + std::string(128, '0'));
  ASSERT_TRUE(r512);
  EXPECT_EQ(r512->digest->alg(), core::digest::algorithm::sha512);
}

TEST(parse_reference, malformed_digests) {
  for (const std::string& text : std::vector<std::string>{"sha256:" + std::string(64, 'A'), "sha256:" + std::string(63, 'a'),
                                 "sha256:" + std::string(65, 'a'), "sha256:" + std::string(63, 'a') + "g",
                                 std::string("sha256:"), std::string(":"), std::string(":abc"),
                                 std::string("a:b:c"), std::string("SHA256:") + hex64,
                                 "sha512:" + hex64, std::string("sha256:") + hex64 + "\n"}) {
    auto r = parse_reference(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error(), errc::digest_invalid) << text;
  }
}

TEST(parse_reference, unsupported_algorithms) {
  for (const char* text : {"md5:d41d8cd98f00b204e9800998ecf8427e", "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g",
                           "blake3:abc"}) {
    auto r = parse_reference(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error(), errc::unsupported_digest) << text;
  }
}

TEST(parse_reference, invalid_tags) {
  for (const std::string& text : std::vector<std::string>{std::string(), std::string(".hidden"), std::string(129, 'a'), std::string("a/b")}) {
    auto r = parse_reference(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error(), errc::tag_invalid);
  }
}

}  // namespace
}  // namespace regcache::oci
