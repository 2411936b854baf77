#include "regcache/store/errc.hpp"
#include "unit/store/index_fixture.hpp"

#include <gtest/gtest.h>
#include <algorithm>

namespace regcache::store {
namespace {

using testing::index_test;

TEST_F(index_test, blob_rows_round_trip) {
  auto missing = idx_->get_blob(a_);
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());

  auto record = blob(1234, 5'000);
  record.pinned = true;
  ASSERT_FALSE(idx_->put_blob(a_, record));
  auto got = idx_->get_blob(a_);
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ(**got, record);

  ASSERT_FALSE(idx_->remove_blob(a_));
  EXPECT_FALSE(idx_->get_blob(a_)->has_value());
  EXPECT_TRUE(lru_rows().empty());
  EXPECT_EQ(idx_->remove_blob(a_), errc::not_found);
}

TEST_F(index_test, empty_media_type_round_trips) {
  blob_record record{.size = 0, .media_type = "", .created_ms = -1, .last_access_ms = 0, .pinned = false};
  ASSERT_FALSE(idx_->put_blob(a_, record));
  EXPECT_EQ(**idx_->get_blob(a_), record);
}

TEST_F(index_test, put_blob_moves_its_single_lru_row) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 100)));
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 200)));
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 200)));
  const auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].first, 200);
  EXPECT_EQ(rows[0].second, a_);
}

TEST_F(index_test, for_each_blob_visits_all_and_stops_when_told) {
  for (const auto& d : {a_, b_, c_}) ASSERT_FALSE(idx_->put_blob(d, blob(10, 1)));
  std::vector<core::digest> seen;
  ASSERT_FALSE(idx_->for_each_blob([&](const core::digest& d, const blob_record& r) {
    EXPECT_EQ(r.size, 10u);
    seen.push_back(d);
    return true;
  }));
  std::vector<core::digest> sorted{a_, b_, c_};
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(seen, sorted);

  std::size_t visits = 0;
  ASSERT_FALSE(idx_->for_each_blob([&](const core::digest&, const blob_record&) { return ++visits < 2; }));
  EXPECT_EQ(visits, 2u);
}

TEST_F(index_test, lru_is_oldest_first_including_times_before_the_epoch) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 300)));
  ASSERT_FALSE(idx_->put_blob(b_, blob(1, -5)));
  ASSERT_FALSE(idx_->put_blob(c_, blob(1, 20)));
  const auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], std::make_pair(std::int64_t{-5}, b_));
  EXPECT_EQ(rows[1], std::make_pair(std::int64_t{20}, c_));
  EXPECT_EQ(rows[2], std::make_pair(std::int64_t{300}, a_));

  std::size_t visits = 0;
  ASSERT_FALSE(idx_->for_each_lru([&](std::int64_t, const core::digest&) { return ++visits < 1; }));
  EXPECT_EQ(visits, 1u);
}

}  // namespace
}  // namespace regcache::store
