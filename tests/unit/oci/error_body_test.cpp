#include "regcache/oci/error_body.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace regcache::oci {
namespace {

constexpr wire_code all_codes[] = {
    wire_code::blob_unknown,     wire_code::blob_upload_invalid,       wire_code::blob_upload_unknown,
    wire_code::digest_invalid,   wire_code::manifest_blob_unknown,     wire_code::manifest_invalid,
    wire_code::manifest_unknown, wire_code::name_invalid,              wire_code::name_unknown,
    wire_code::size_invalid,     wire_code::unauthorized,              wire_code::denied,
    wire_code::unsupported,      wire_code::too_many_requests,         wire_code::tag_invalid,
    wire_code::pagination_number_invalid, wire_code::range_invalid,    wire_code::unavailable,
    wire_code::unknown,
};

TEST(error_body, code_names) {
  EXPECT_EQ(code_name(wire_code::blob_unknown), "BLOB_UNKNOWN");
  EXPECT_EQ(code_name(wire_code::blob_upload_invalid), "BLOB_UPLOAD_INVALID");
  EXPECT_EQ(code_name(wire_code::manifest_blob_unknown), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_EQ(code_name(wire_code::name_unknown), "NAME_UNKNOWN");
  EXPECT_EQ(code_name(wire_code::too_many_requests), "TOOMANYREQUESTS");
  EXPECT_EQ(code_name(wire_code::pagination_number_invalid), "PAGINATION_NUMBER_INVALID");
  EXPECT_EQ(code_name(wire_code::unavailable), "UNAVAILABLE");
  EXPECT_EQ(code_name(wire_code::unknown), "UNKNOWN");
  for (auto code : all_codes) {
    const auto name = code_name(code);
    ASSERT_FALSE(name.empty());
    for (char c : name) EXPECT_TRUE((c >= 'A' && c <= 'Z') || c == '_') << name;
  }
}

TEST(error_body, default_statuses) {
  EXPECT_EQ(default_status(wire_code::blob_unknown), 404u);
  EXPECT_EQ(default_status(wire_code::blob_upload_unknown), 404u);
  EXPECT_EQ(default_status(wire_code::manifest_unknown), 404u);
  EXPECT_EQ(default_status(wire_code::name_unknown), 404u);
  EXPECT_EQ(default_status(wire_code::manifest_blob_unknown), 400u);
  EXPECT_EQ(default_status(wire_code::digest_invalid), 400u);
  EXPECT_EQ(default_status(wire_code::name_invalid), 400u);
  EXPECT_EQ(default_status(wire_code::pagination_number_invalid), 400u);
  EXPECT_EQ(default_status(wire_code::unauthorized), 401u);
  EXPECT_EQ(default_status(wire_code::denied), 403u);
  EXPECT_EQ(default_status(wire_code::unsupported), 405u);
  EXPECT_EQ(default_status(wire_code::range_invalid), 416u);
  EXPECT_EQ(default_status(wire_code::too_many_requests), 429u);
  EXPECT_EQ(default_status(wire_code::unavailable), 503u);
  EXPECT_EQ(default_status(wire_code::unknown), 500u);
}

TEST(error_body, shape) {
  EXPECT_EQ(error_body(wire_code::manifest_unknown, "manifest unknown"),
            R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
  const boost::json::value detail = {{"name", "library/alpine"}, {"tag", "3.19"}};
  const auto body = boost::json::parse(error_body(wire_code::name_unknown, "no such repository", &detail));
  const auto& e = body.at("errors").at(0);
  EXPECT_EQ(e.at("code"), "NAME_UNKNOWN");
  EXPECT_EQ(e.at("message"), "no such repository");
  EXPECT_EQ(e.at("detail"), detail);
}

TEST(error_body, escapes_hostile_messages) {
  const std::string message = "tag \"x\\y\"\n\t</script>\x01";
  const auto body = boost::json::parse(error_body(wire_code::tag_invalid, message));
  EXPECT_EQ(std::string_view(body.at("errors").at(0).at("message").as_string()), message);
}

TEST(error_body, invalid_utf8_is_replaced) {
  const auto text = error_body(wire_code::tag_invalid, "a\xff" "b\xc3(\xe2\x82\xac\xed\xa0\x80");
  boost::system::error_code ec;
  const auto body = boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << text;
  EXPECT_EQ(std::string_view(body.at("errors").at(0).at("message").as_string()),
            "a\xef\xbf\xbd" "b\xef\xbf\xbd(\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

}  // namespace
}  // namespace regcache::oci
