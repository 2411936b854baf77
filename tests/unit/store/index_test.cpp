#include "regcache/store/errc.hpp"
#include "unit/store/index_fixture.hpp"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

namespace regcache::store {
namespace {

using testing::index_test;

TEST_F(index_test, an_open_index_takes_writes) { EXPECT_FALSE(idx_->check_writable()); }

TEST_F(index_test, compute_stats_counts_everything) {
  auto empty = idx_->compute_stats();
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->blob_count, 0u);
  EXPECT_EQ(empty->blob_bytes, 0u);

  ASSERT_FALSE(idx_->put_blob(a_, blob(100, 1)));
  ASSERT_FALSE(idx_->put_blob(b_, blob(23, 1)));
  ASSERT_FALSE(idx_->put_manifest(c_, {.media_type = "m", .bytes = "{}", .created_ms = 0, .last_access_ms = 0}));
  ASSERT_FALSE(idx_->put_tag("h", "r", "t1", {c_, "m", 1, ""}));
  ASSERT_FALSE(idx_->put_tag("h", "r", "t2", {c_, "m", 1, ""}));
  ASSERT_FALSE(idx_->put_tag("h", "r2", "t1", {c_, "m", 1, ""}));
  ASSERT_FALSE(idx_->put_link("h", "r", a_, 1));

  auto s = idx_->compute_stats();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->blob_count, 2u);
  EXPECT_EQ(s->blob_bytes, 123u);
  EXPECT_EQ(s->manifest_count, 1u);
  EXPECT_EQ(s->tag_count, 3u);
}

TEST_F(index_test, everything_persists_across_reopen) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(5, 100)));
  ASSERT_FALSE(idx_->put_blob(b_, blob(6, 200)));
  ASSERT_FALSE(idx_->put_manifest(c_, {.media_type = "m", .bytes = "{}", .created_ms = 1, .last_access_ms = 1}));
  ASSERT_FALSE(idx_->put_tag("docker.io", "library/alpine", "3.19", {c_, "m", 9, "e"}));
  ASSERT_FALSE(idx_->put_link("docker.io", "library/alpine", a_, 9));
  idx_->record_access(a_, 300);  // pending only: the destructor flushes it

  reopen();
  EXPECT_EQ(**idx_->get_blob(b_), blob(6, 200));
  EXPECT_EQ((*idx_->get_blob(a_))->last_access_ms, 300);
  EXPECT_EQ((*idx_->get_manifest(c_))->bytes, "{}");
  EXPECT_EQ((*idx_->get_tag("docker.io", "library/alpine", "3.19"))->etag, "e");
  EXPECT_TRUE(*idx_->has_link("docker.io", "library/alpine", a_));
  const auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].second, b_);
  EXPECT_EQ(rows[1], std::make_pair(std::int64_t{300}, a_));
}

TEST_F(index_test, second_open_of_the_same_directory_fails) {
  auto second = index::open(dir_.path() / "index");
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error(), errc::index_error);
}

TEST_F(index_test, open_fails_on_a_file) {
  testing::write_file(dir_.path() / "file", "x");
  auto opened = index::open(dir_.path() / "file");
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error(), errc::io_error);
}

TEST_F(index_test, other_schema_version_is_refused) {
  put_raw("default", "schema_version", "\x02");
  auto opened = index::open(dir_.path() / "index");
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error(), errc::corrupt_record);
}

TEST_F(index_test, an_index_from_before_pins_opens_and_gains_them) {
  idx_.reset();
  const auto path = (dir_.path() / "old-index").string();
  create_old_index(path, {"default", "blobs", "lru", "manifests", "tags", "links"});
  auto opened = index::open(path);
  ASSERT_TRUE(opened.has_value()) << opened.error().message();
  EXPECT_FALSE((*opened)->get_pin("docker.io", "r", "t")->has_value());
  ASSERT_FALSE((*opened)->put_pin("docker.io", "r", "t", {a_, {}, 1, 0, ""}));
  EXPECT_EQ((*(*opened)->get_pin("docker.io", "r", "t"))->digest, a_);
}

TEST_F(index_test, undecodable_rows_are_reported_and_repaired) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 100)));
  ASSERT_FALSE(idx_->put_blob(b_, blob(2, 200)));
  put_raw("blobs", b_.str(), "\x01short");
  put_raw("blobs", "not a digest", std::string("\x01\0", 2) + std::string(24, '\0'));
  put_raw("manifests", c_.str(), "\x07{}");
  put_raw("tags", "garbage", "\x01");
  reopen();

  EXPECT_EQ(idx_->get_blob(b_).error(), errc::corrupt_record);
  EXPECT_EQ(idx_->get_manifest(c_).error(), errc::corrupt_record);
  EXPECT_EQ(idx_->for_each_blob([](const core::digest&, const blob_record&) { return true; }),
            errc::corrupt_record);
  EXPECT_EQ(idx_->for_each_tag([](auto, auto, auto, const tag_record&) { return true; }), errc::corrupt_record);
  EXPECT_EQ(idx_->compute_stats().error(), errc::corrupt_record);

  auto dropped = idx_->repair();
  ASSERT_TRUE(dropped.has_value());
  EXPECT_EQ(*dropped, 2u);
  EXPECT_FALSE(idx_->get_blob(b_)->has_value());
  const auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 1u) << "b's lru row went with its blob row";
  EXPECT_EQ(rows[0], std::make_pair(std::int64_t{100}, a_));
  EXPECT_EQ(idx_->compute_stats()->blob_count, 1u);
}

TEST_F(index_test, repair_rebuilds_missing_and_stale_lru_rows) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 100)));
  // A lru row for a blob that has no row, and one with a stale time.
  std::string orphan(8, '\0');
  orphan[0] = static_cast<char>(0x80);
  orphan[7] = 50;
  put_raw("lru", orphan + b_.str(), "");
  put_raw("lru", orphan + a_.str(), "");
  put_raw("lru", "junk", "");
  reopen();

  ASSERT_EQ(*idx_->repair(), 0u);
  auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], std::make_pair(std::int64_t{100}, a_));
}

}  // namespace
}  // namespace regcache::store
