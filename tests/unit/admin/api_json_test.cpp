#include "regcache/admin/api_json.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace regcache::admin {
namespace {

namespace json = boost::json;

TEST(api_json, error_body) { EXPECT_EQ(error_body("say \"why\""), R"({"error":"say \"why\""})"); }

TEST(api_json, ndjson_line_is_one_line) {
  const auto line = ndjson_line({{"event", "done"}, {"text", "a\nb"}});
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(api_json, eviction_report) {
  cache::eviction_report r;
  r.usage_before = 10;
  r.blob_bytes_evicted = 4;
  r.took = std::chrono::milliseconds(7);
  r.available_before = 99;
  r.below_min_free = true;
  const auto o = to_json(r);
  EXPECT_EQ(o.at("available_before").as_uint64(), 99u);
  EXPECT_TRUE(o.at("below_min_free").as_bool());
  EXPECT_EQ(o.at("usage_before").as_uint64(), 10u);
  EXPECT_EQ(o.at("blob_bytes_evicted").as_uint64(), 4u);
  EXPECT_EQ(o.at("took_ms").as_int64(), 7);
  EXPECT_TRUE(o.at("reached_low_watermark").as_bool());
}

TEST(api_json, fsck_report_lists_findings) {
  store::fsck_report r;
  r.files_checked = 3;
  r.findings.push_back({store::fsck_problem::hash_mismatch, "/x/y", std::nullopt, "bad", true});
  const auto o = to_json(r);
  EXPECT_FALSE(o.at("clean").as_bool());
  const auto& f = o.at("findings").as_array().at(0).as_object();
  EXPECT_EQ(f.at("problem").as_string(), "hash_mismatch");
  EXPECT_EQ(f.at("path").as_string(), "/x/y");
  EXPECT_FALSE(f.contains("digest"));
}

TEST(api_json, pin_image_uses_at_for_digests) {
  const auto d = *core::digest::parse("sha256:" + std::string(64, 'b'));
  store::pin_record pin{d, {"linux/amd64"}, 9};
  EXPECT_EQ(pin_json("docker.io", "library/a", "v1", pin).at("image").as_string(), "docker.io/library/a:v1");
  EXPECT_EQ(pin_json("docker.io", "library/a", d.str(), pin).at("image").as_string(), "docker.io/library/a@" + d.str());
}

TEST(api_json, prefetch_progress_fields) {
  json::object o{{"event", "progress"}};
  add_progress(o, {.blobs_total = 3, .blobs_done = 1, .bytes_total = 30, .bytes_done = 10, .bytes_fetched = 5});
  EXPECT_EQ(
      json::serialize(o),
      R"({"event":"progress","blobs_done":1,"blobs_total":3,"bytes_done":10,"bytes_total":30,"bytes_fetched":5})");
}

}  // namespace
}  // namespace regcache::admin
