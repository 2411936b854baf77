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

TEST(requests, pin_with_expiry_and_label) {
  auto r = parse_pin_request(R"({"image":"alpine:3.20","for_ms":604800000,"label":"app.kubernetes.io/name=shop"})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->lasts, std::chrono::milliseconds(604800000));
  EXPECT_EQ(r->label, "app.kubernetes.io/name=shop");
  auto plain = parse_pin_request(R"({"image":"alpine"})");
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->lasts);
  EXPECT_EQ(plain->label, "");

  for (const auto* body : {R"({"image":"a","for_ms":0})", R"({"image":"a","for_ms":-5})", R"({"image":"a","for_ms":1.5})",
                           R"({"image":"a","for_ms":"7d"})", R"({"image":"a","for_ms":315360000001})"})
    EXPECT_NE(parse_pin_request(body).error().message.find("\"for_ms\" must be"), std::string::npos) << body;
  EXPECT_EQ(parse_pin_request(R"({"image":"a","label":3})").error().message, R"("label" must be a string)");
  EXPECT_NE(parse_pin_request(R"({"image":"a","label":"app"})").error().message.find("no '='"), std::string::npos);
}

TEST(requests, pin_labels) {
  EXPECT_EQ(*parse_pin_label("app=shop"), "app=shop");
  EXPECT_EQ(*parse_pin_label("release=v1.2.3_rc-1"), "release=v1.2.3_rc-1");
  for (const auto* bad : {"", "=x", "app=", "app", "a b=c", "app=sh/op", "app=x=y", "app=\n"})
    EXPECT_FALSE(parse_pin_label(bad).has_value()) << bad;
  EXPECT_FALSE(parse_pin_label("k=" + std::string(400, 'v')).has_value());
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
