#include "regcache/core/hasher.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

namespace regcache::core {
namespace {

// FIPS 180-2 test vectors.
constexpr std::string_view sha256_empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::string_view sha256_abc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr std::string_view sha512_abc =
    "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

TEST(hasher, known_vectors) {
  EXPECT_EQ(hasher::of("").str(), sha256_empty);
  EXPECT_EQ(hasher::of("abc").str(), sha256_abc);
  EXPECT_EQ(hasher::of("abc", digest::algorithm::sha512).str(), sha512_abc);
  EXPECT_EQ(hasher::of("abc", digest::algorithm::sha512).alg(), digest::algorithm::sha512);
}

TEST(hasher, streaming_equals_one_shot) {
  hasher h;
  h.update(std::string_view("a"));
  h.update(std::string_view(""));
  const std::vector<std::byte> bc{std::byte{'b'}, std::byte{'c'}};
  h.update(std::span<const std::byte>(bc));
  EXPECT_EQ(h.finish().str(), sha256_abc);
}

TEST(hasher, million_a) {
  hasher h;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.update(chunk);
  EXPECT_EQ(h.finish().str(), "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(hasher, result_parses_as_a_digest) {
  const auto d = hasher::of("regcache");
  auto parsed = digest::parse(d.str());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, d);
}

TEST(hasher, is_movable) {
  hasher a;
  a.update(std::string_view("ab"));
  hasher b(std::move(a));
  b.update(std::string_view("c"));
  EXPECT_EQ(b.finish().str(), sha256_abc);
}

}  // namespace
}  // namespace regcache::core
