#include "regcache/core/digest.hpp"

#include "regcache/core/errc.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>
#include <unordered_set>

namespace regcache::core {
namespace {

const std::string hex64 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(digest, parses_sha256) {
  auto d = digest::parse("sha256:" + hex64);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->alg(), digest::algorithm::sha256);
  EXPECT_EQ(d->algorithm_name(), "sha256");
  EXPECT_EQ(d->hex(), hex64);
  EXPECT_EQ(d->str(), "sha256:" + hex64);
}

TEST(digest, parses_sha512) {
  const std::string hex(128, 'f');
  auto d = digest::parse("sha512:" + hex);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->alg(), digest::algorithm::sha512);
  EXPECT_EQ(d->algorithm_name(), "sha512");
  EXPECT_EQ(d->hex(), hex);
}

TEST(digest, rejects_bad_grammar_and_encodings) {
  for (const std::string& text : std::vector<std::string>{
           std::string(), std::string(":"), std::string("sha256"), std::string("sha256:"), ":" + hex64,
           "SHA256:" + hex64,                                   // uppercase algorithm
           "sha256:" + std::string(64, 'A'),                    // uppercase hex
           "sha256:" + hex64.substr(1),                         // 63
           "sha256:" + hex64 + "0",                             // 65
           "sha256:" + hex64.substr(1) + "g",                   // not hex
           "sha512:" + hex64,                                   // sha512 needs 128
           "sha256:" + hex64 + "\n", " sha256:" + hex64, "sha256 :" + hex64,
           "sha256::" + hex64, "-sha256:" + hex64, "sha256-:" + hex64, "sha256..x:abc", "a+:b",
           "sha256:" + std::string(300, 'a'),                   // over the bound
       }) {
    auto d = digest::parse(text);
    ASSERT_FALSE(d) << text;
    EXPECT_EQ(d.error(), errc::invalid_digest) << text;
  }
}

TEST(digest, grammar_valid_unknown_algorithms_are_unsupported) {
  for (const char* text : {"md5:d41d8cd98f00b204e9800998ecf8427e", "sha384:abc", "sha256+b64u:LCa0a2j_xo_5m0U8HTBB=",
                           "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", "a.b_c-d:x"}) {
    auto d = digest::parse(text);
    ASSERT_FALSE(d) << text;
    EXPECT_EQ(d.error(), errc::unsupported_digest) << text;
  }
}

TEST(digest, compares_and_hashes_by_text) {
  auto a = *digest::parse("sha256:" + hex64);
  auto b = digest::from_hex(digest::algorithm::sha256, hex64);
  auto c = *digest::parse("sha256:" + std::string(64, '0'));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_LT(c, a);
  std::unordered_set<digest> set{a, b, c};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace regcache::core
