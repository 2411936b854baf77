#include "regcache/core/base64.hpp"

#include <gtest/gtest.h>

namespace regcache::core {
namespace {

TEST(base64, rfc4648_vectors_both_ways) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},           {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), std::string(plain)) << encoded;
  }
}

TEST(base64, padding_is_optional_and_other_characters_are_refused) {
  EXPECT_EQ(base64_decode("Zm8"), "fo");
  EXPECT_EQ(base64_decode("Zg"), "f");
  EXPECT_EQ(base64_decode("Z"), std::nullopt) << "one character cannot hold a byte";
  EXPECT_EQ(base64_decode("Zm 9v"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm9v-_"), std::nullopt) << "the URL-safe alphabet is another function's";
}

TEST(base64url, uses_the_url_safe_alphabet_only) {
  // 0xfb 0xff: "+/8=" in the standard alphabet, "-_8" in the URL-safe one.
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(base64_decode("+/8="), std::string("\xfb\xff"));
  EXPECT_EQ(base64url_decode("+/8"), std::nullopt);
}

}  // namespace
}  // namespace regcache::core
