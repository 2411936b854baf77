#include "regcache/admin/requests.hpp"

#include <gtest/gtest.h>

namespace regcache::admin {
namespace {

TEST(requests, pin_with_platforms) {
  auto r = parse_pin_request(R"({"image":"alpine:3.20","platforms":["linux/amd64","linux/arm64/v8"]})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->image.name, "alpine");
  EXPECT_EQ(r->platforms, (std::vector<std::string>{"linux/amd64", "linux/arm64/v8"}));
}

TEST(requests, pin_errors_name_the_problem) {
  EXPECT_EQ(parse_pin_request("{}").error().message, R"(missing field "image")");
  EXPECT_EQ(parse_pin_request(R"({"image":1})").error().message, R"("image" must be a string)");
  EXPECT_EQ(parse_pin_request(R"({"image":"a","platform":["x"]})").error().message, R"(unknown field "platform")");
  EXPECT_EQ(parse_pin_request(R"({"image":"a","platforms":"linux/amd64"})").error().message,
            R"("platforms" must be an array of strings)");
  EXPECT_NE(parse_pin_request("not json").error().message.find("not JSON"), std::string::npos);
  EXPECT_EQ(parse_pin_request("[]").error().message, "the request body must be a JSON object");
  EXPECT_NE(parse_pin_request(R"({"image":"UPPER"})").error().message.find("repository name"), std::string::npos);
}

TEST(requests, prefetch) {
  auto r = parse_prefetch_request(R"({"images":["alpine","ghcr.io/o/a:v1"]})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->images.size(), 2u);
  EXPECT_EQ(r->images[1].name, "ghcr.io/o/a");
  EXPECT_TRUE(r->platforms.empty());
  EXPECT_FALSE(parse_prefetch_request(R"({"images":[]})").has_value());
  EXPECT_FALSE(parse_prefetch_request(R"({"images":["ok","Bad"]})").has_value());
}

TEST(requests, purge_and_verify) {
  EXPECT_EQ(parse_image_request(R"({"image":"x:y"})")->reference.text, "y");
  EXPECT_FALSE(parse_verify_request("")->dry_run);
  EXPECT_TRUE(parse_verify_request(R"({"dry_run":true})")->dry_run);
  EXPECT_FALSE(parse_verify_request(R"({"dry_run":"yes"})").has_value());
}

}  // namespace
}  // namespace regcache::admin
