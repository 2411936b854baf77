#include "regcache/admin/image_ref.hpp"

#include <gtest/gtest.h>

namespace regcache::admin {
namespace {

const std::string some_digest = "sha256:" + std::string(64, 'a');

image_ref parse_ok(std::string_view text) {
  auto r = parse_image_ref(text);
  EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message);
  return r ? *r : image_ref{};
}

std::string parse_error(std::string_view text) {
  auto r = parse_image_ref(text);
  EXPECT_FALSE(r.has_value()) << text;
  return r ? "" : r.error().message;
}

TEST(image_ref, short_name_defaults_to_latest) {
  const auto r = parse_ok("alpine");
  EXPECT_EQ(r.name, "alpine");
  EXPECT_EQ(r.reference.text, "latest");
  EXPECT_FALSE(r.reference.is_digest());
  EXPECT_EQ(r.str(), "alpine:latest");
}

TEST(image_ref, name_and_tag) {
  const auto r = parse_ok("alpine:3.20");
  EXPECT_EQ(r.name, "alpine");
  EXPECT_EQ(r.reference.text, "3.20");
}

TEST(image_ref, registry_host_stays_in_the_name) {
  const auto r = parse_ok("docker.io/library/alpine:3.20");
  EXPECT_EQ(r.name, "docker.io/library/alpine");
  EXPECT_EQ(r.reference.text, "3.20");
}

TEST(image_ref, port_of_the_registry_is_not_a_tag) {
  auto r = parse_ok("127.0.0.1:5001/library/x:v1");
  EXPECT_EQ(r.name, "127.0.0.1:5001/library/x");
  EXPECT_EQ(r.reference.text, "v1");
  r = parse_ok("localhost:5000/app");
  EXPECT_EQ(r.name, "localhost:5000/app");
  EXPECT_EQ(r.reference.text, "latest");
  r = parse_ok("[::1]:5000/app:v2");
  EXPECT_EQ(r.name, "[::1]:5000/app");
  EXPECT_EQ(r.reference.text, "v2");
}

TEST(image_ref, digest) {
  const auto r = parse_ok("ghcr.io/owner/app@" + some_digest);
  EXPECT_EQ(r.name, "ghcr.io/owner/app");
  ASSERT_TRUE(r.reference.is_digest());
  EXPECT_EQ(r.reference.digest->str(), some_digest);
  EXPECT_EQ(r.str(), "ghcr.io/owner/app@" + some_digest);
}

TEST(image_ref, digest_wins_over_tag) {
  const auto r = parse_ok("app:v1@" + some_digest);
  EXPECT_EQ(r.name, "app");
  EXPECT_TRUE(r.reference.is_digest());
}

TEST(image_ref, str_parses_back) {
  for (const std::string& text :
       std::vector<std::string>{"alpine", "a/b/c:v1", "127.0.0.1:5001/x", "ghcr.io/o/a@" + some_digest}) {
    const auto r = parse_ok(text);
    const auto again = parse_ok(r.str());
    EXPECT_EQ(again.name, r.name);
    EXPECT_EQ(again.reference.text, r.reference.text);
  }
}

TEST(image_ref, rejects_bad_input_with_a_message) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("Alpine").find("repository name"), std::string::npos);
  EXPECT_NE(parse_error("alpine:").find("tag"), std::string::npos);
  EXPECT_NE(parse_error("alpine:a:b").find("tag"), std::string::npos);
  EXPECT_NE(parse_error("alpine@sha256:abc").find("digest"), std::string::npos);
  EXPECT_NE(parse_error("alpine@latest").find("digest"), std::string::npos);
  EXPECT_NE(parse_error("bad_host!.io/x").find("host"), std::string::npos);
  EXPECT_NE(parse_error("ghcr.io/").find("repository"), std::string::npos);
  EXPECT_NE(parse_error(":v1").find("repository"), std::string::npos);
  EXPECT_NE(parse_error(std::string(2000, 'a')).find("longer"), std::string::npos);
}

}  // namespace
}  // namespace regcache::admin
