#include "regcache/store/errc.hpp"
#include "unit/store/index_fixture.hpp"

#include <gtest/gtest.h>
#include <algorithm>

namespace regcache::store {
namespace {

using testing::index_test;

TEST_F(index_test, manifest_rows_round_trip) {
  EXPECT_FALSE(idx_->get_manifest(a_)->has_value());
  const manifest_record record{.media_type = "application/vnd.oci.image.manifest.v1+json",
                               .bytes = std::string("{\"schemaVersion\":2}\0binary", 26),
                               .created_ms = 7, .last_access_ms = 8};
  ASSERT_FALSE(idx_->put_manifest(a_, record));
  EXPECT_EQ(**idx_->get_manifest(a_), record);
  ASSERT_FALSE(idx_->remove_manifest(a_));
  EXPECT_FALSE(idx_->get_manifest(a_)->has_value());
  EXPECT_EQ(idx_->remove_manifest(a_), errc::not_found);
}

TEST_F(index_test, for_each_manifest_visits_all_in_digest_order_and_stops_when_told) {
  for (const auto& d : {a_, b_, c_})
    ASSERT_FALSE(idx_->put_manifest(d, {.media_type = "m", .bytes = d.str(), .created_ms = 1, .last_access_ms = 2}));
  std::vector<core::digest> seen;
  ASSERT_FALSE(idx_->for_each_manifest([&](const core::digest& d, const manifest_record& r) {
    EXPECT_EQ(r.bytes, d.str());
    seen.push_back(d);
    return true;
  }));
  auto sorted = std::vector<core::digest>{a_, b_, c_};
  std::sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) { return x.str() < y.str(); });
  EXPECT_EQ(seen, sorted);

  std::size_t visited = 0;
  ASSERT_FALSE(idx_->for_each_manifest([&](const core::digest&, const manifest_record&) { return ++visited < 2; }));
  EXPECT_EQ(visited, 2u);
}

}  // namespace
}  // namespace regcache::store
