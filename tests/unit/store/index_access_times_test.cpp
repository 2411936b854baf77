#include "regcache/store/errc.hpp"
#include "unit/store/index_fixture.hpp"

#include <gtest/gtest.h>
#include <map>
#include <thread>

namespace regcache::store {
namespace {

using testing::digest_of;
using testing::index_test;

TEST_F(index_test, access_times_wait_in_memory_until_flushed) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 100)));
  ASSERT_FALSE(idx_->put_blob(b_, blob(1, 200)));
  ASSERT_FALSE(idx_->put_blob(c_, blob(1, 300)));

  idx_->record_access(a_, 1'000);
  idx_->record_access(a_, 900);  // out of order: the latest time wins
  idx_->record_access(b_, 50);   // older than the row: ignored
  idx_->record_access(digest_of("unknown"), 5'000);
  EXPECT_EQ((*idx_->get_blob(a_))->last_access_ms, 100) << "record_access does not write";

  ASSERT_FALSE(idx_->flush_access_times());
  EXPECT_EQ((*idx_->get_blob(a_))->last_access_ms, 1'000);
  EXPECT_EQ((*idx_->get_blob(b_))->last_access_ms, 200);
  EXPECT_EQ((*idx_->get_blob(a_))->media_type, blob(1, 0).media_type) << "other fields are kept";
  EXPECT_FALSE(idx_->get_blob(digest_of("unknown"))->has_value()) << "no row is invented";

  const auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].second, b_);
  EXPECT_EQ(rows[1].second, c_);
  EXPECT_EQ(rows[2], std::make_pair(std::int64_t{1'000}, a_));

  ASSERT_FALSE(idx_->flush_access_times()) << "nothing pending is fine";
  EXPECT_EQ(lru_rows(), rows);
}

TEST_F(index_test, flush_does_not_resurrect_a_removed_blob) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 100)));
  idx_->record_access(a_, 500);
  ASSERT_FALSE(idx_->remove_blob(a_));
  ASSERT_FALSE(idx_->flush_access_times());
  EXPECT_FALSE(idx_->get_blob(a_)->has_value());
  EXPECT_TRUE(lru_rows().empty());
}

TEST_F(index_test, manifest_access_time_moves_in_coarse_steps) {
  const std::int64_t t0 = 1'700'000'000'000;
  ASSERT_FALSE(idx_->put_manifest(a_, {.media_type = "m", .bytes = "{}", .created_ms = t0, .last_access_ms = t0}));
  idx_->record_access(a_, t0 + 1'000);
  ASSERT_FALSE(idx_->flush_access_times());
  EXPECT_EQ((*idx_->get_manifest(a_))->last_access_ms, t0);

  idx_->record_access(a_, t0 + index::manifest_access_granularity_ms);
  ASSERT_FALSE(idx_->flush_access_times());
  EXPECT_EQ((*idx_->get_manifest(a_))->last_access_ms, t0 + index::manifest_access_granularity_ms);
  EXPECT_EQ((*idx_->get_manifest(a_))->bytes, "{}");
}

TEST_F(index_test, concurrent_access_flushes_and_puts_keep_lru_consistent) {
  std::vector<core::digest> digests;
  for (int i = 0; i < 32; ++i) digests.push_back(digest_of("blob " + std::to_string(i)));
  for (const auto& d : digests) ASSERT_FALSE(idx_->put_blob(d, blob(1, 0)));

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const auto& d = digests[(i * 7 + t) % digests.size()];
        idx_->record_access(d, i * 10 + t);
        if (i % 20 == 0) {
          EXPECT_FALSE(idx_->flush_access_times());
        }
        if (t == 0 && i % 50 == 0) {
          EXPECT_FALSE(idx_->put_blob(d, blob(2, i)));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_FALSE(idx_->flush_access_times());

  std::map<core::digest, std::int64_t> from_blobs;
  ASSERT_FALSE(idx_->for_each_blob([&](const core::digest& d, const blob_record& r) {
    from_blobs[d] = r.last_access_ms;
    return true;
  }));
  std::map<core::digest, std::int64_t> from_lru;
  for (const auto& [ms, d] : lru_rows()) EXPECT_TRUE(from_lru.emplace(d, ms).second) << "one lru row per blob";
  EXPECT_EQ(from_blobs, from_lru);
  EXPECT_EQ(*idx_->repair(), 0u);
  EXPECT_EQ(lru_rows().size(), digests.size());
}

}  // namespace
}  // namespace regcache::store
