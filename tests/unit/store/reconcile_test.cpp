#include "regcache/store/reconcile.hpp"

#include "regcache/store/errc.hpp"
#include "unit/store/test_support.hpp"

#include <gtest/gtest.h>

namespace regcache::store {
namespace {

using testing::as_bytes;
using testing::digest_of;
using testing::pattern;
using testing::write_file;

constexpr std::int64_t now_ms = 1'700'000'000'000;

class reconcile_test : public testing::store_and_index_test {
 protected:

  reconcile_report run() {
    auto report = reconcile(*remover_, now_ms);
    EXPECT_TRUE(report.has_value()) << report.error().message();
    return report ? *report : reconcile_report{};
  }

};

TEST_F(reconcile_test, consistent_store_is_left_alone) {
  const auto d = store_blob("layer", "application/vnd.oci.image.layer.v1.tar", true);
  const auto report = run();
  EXPECT_EQ(report.temp_files_removed, 0u);
  EXPECT_EQ(report.rows_dropped, 0u);
  EXPECT_EQ(report.files_indexed, 0u);
  EXPECT_EQ(report.files_removed, 0u);
  EXPECT_EQ(report.bytes_indexed, 0u);
  const auto row = **idx_->get_blob(d);
  EXPECT_EQ(row.media_type, "application/vnd.oci.image.layer.v1.tar");
  EXPECT_TRUE(row.pinned) << "reconcile keeps the row as it was";
  EXPECT_TRUE(blobs_->exists(d));
}

TEST_F(reconcile_test, temp_leftovers_are_removed) {
  write_file(blobs_->tmp_dir() / "abc-123456.part", "half a download");
  write_file(blobs_->tmp_dir() / "stray", "");
  write_file(blobs_->tmp_dir() / "dir" / "nested", "x");
  const auto report = run();
  EXPECT_EQ(report.temp_files_removed, 3u);
  EXPECT_EQ(testing::count_entries(blobs_->tmp_dir()), 0u);
}

TEST_F(reconcile_test, row_without_file_is_dropped) {
  const auto d = store_blob("evicted behind our back");
  ASSERT_FALSE(blobs_->remove_blob(d));
  const auto report = run();
  EXPECT_EQ(report.rows_dropped, 1u);
  EXPECT_FALSE(idx_->get_blob(d)->has_value());
  EXPECT_EQ(heard_.blobs, (std::map<core::digest, std::uint64_t>{{d, 23}})) << "removed through the remover";
  std::size_t lru = 0;
  ASSERT_FALSE(idx_->for_each_lru([&](std::int64_t, const core::digest&) { return ++lru, true; }));
  EXPECT_EQ(lru, 0u);
}

TEST_F(reconcile_test, row_with_wrong_size_is_dropped_and_the_file_reverified) {
  const std::string content = "size on disk is the truth";
  const auto d = store_blob(content);
  ASSERT_FALSE(idx_->put_blob(d, {.size = 3, .media_type = "m", .created_ms = 1, .last_access_ms = 2, .pinned = false}));
  const auto report = run();
  EXPECT_EQ(report.rows_dropped, 1u);
  EXPECT_EQ(report.files_indexed, 1u);
  EXPECT_EQ((*idx_->get_blob(d))->size, content.size());
  EXPECT_EQ(heard_.blobs, (std::map<core::digest, std::uint64_t>{{d, 3}}));
}

TEST_F(reconcile_test, valid_file_without_row_is_indexed) {
  const auto content = pattern(3 * 1024 * 1024 + 17);  // more than one verification chunk
  const auto d = digest_of(content);
  write_file(blobs_->blob_path(d), content);
  const std::string small = "small";
  write_file(blobs_->blob_path(digest_of(small)), small);

  const auto report = run();
  EXPECT_EQ(report.files_indexed, 2u);
  EXPECT_EQ(report.bytes_indexed, content.size() + small.size());
  EXPECT_EQ(report.files_removed, 0u);
  const auto row = idx_->get_blob(d);
  ASSERT_TRUE(row.has_value() && row->has_value());
  EXPECT_EQ(**row, (blob_record{.size = content.size(), .media_type = "", .created_ms = now_ms,
                                .last_access_ms = now_ms, .pinned = false}));

  const auto again = run();
  EXPECT_EQ(again.files_indexed, 0u) << "a second run finds nothing to do";
}

TEST_F(reconcile_test, valid_sha512_file_without_row_is_indexed) {
  const std::string content = "sha512 blob";
  const auto d = core::hasher::of(content, core::digest::algorithm::sha512);
  write_file(blobs_->blob_path(d), content);
  EXPECT_EQ(run().files_indexed, 1u);
  EXPECT_TRUE(idx_->get_blob(d)->has_value());
}

TEST_F(reconcile_test, corrupted_file_without_row_is_removed) {
  const auto d = digest_of("the real content");
  write_file(blobs_->blob_path(d), "bit rot");
  const auto report = run();
  EXPECT_EQ(report.files_removed, 1u);
  EXPECT_EQ(report.files_indexed, 0u);
  EXPECT_FALSE(blobs_->exists(d));
  EXPECT_FALSE(idx_->get_blob(d)->has_value());
}

TEST_F(reconcile_test, junk_names_are_removed) {
  const auto d = digest_of("misplaced");
  const auto sha256 = blobs_->blobs_dir() / "sha256";
  write_file(sha256 / "ab" / "not-a-digest", "x");
  write_file(sha256 / "ab" / (std::string(64, 'A')), "uppercase hex");
  write_file(sha256 / (d.hex().substr(0, 2) == "00" ? "01" : "00") / d.hex(), "misplaced");  // wrong shard
  write_file(sha256 / d.hex(), "misplaced");  // no shard at all
  write_file(blobs_->blobs_dir() / "loose", "x");
  std::filesystem::create_symlink("/etc/hostname", sha256 / "ab" / ("ab" + std::string(62, '0')));
  std::filesystem::create_directories(sha256 / "ff");               // empty shard: kept
  std::filesystem::create_directories(blobs_->blobs_dir() / "md5");  // foreign directory: kept

  const auto report = run();
  EXPECT_EQ(report.files_removed, 6u);
  EXPECT_EQ(report.files_indexed, 0u);
  EXPECT_EQ(testing::count_entries(sha256 / "ab"), 0u);
  EXPECT_TRUE(std::filesystem::is_directory(sha256 / "ff"));
  EXPECT_TRUE(std::filesystem::is_directory(blobs_->blobs_dir() / "md5"));
  EXPECT_FALSE(std::filesystem::exists(blobs_->blobs_dir() / "loose"));
}

TEST_F(reconcile_test, mixed_damage_is_all_counted) {
  const auto kept = store_blob("kept");
  const auto lost = store_blob("lost");
  ASSERT_FALSE(blobs_->remove_blob(lost));
  write_file(blobs_->blob_path(digest_of("orphan")), "orphan");
  write_file(blobs_->blob_path(digest_of("rotten")), "r0tten");
  write_file(blobs_->tmp_dir() / "x.part", "x");

  const auto report = run();
  EXPECT_EQ(report.temp_files_removed, 1u);
  EXPECT_EQ(report.rows_dropped, 1u);
  EXPECT_EQ(report.files_indexed, 1u);
  EXPECT_EQ(report.bytes_indexed, 6u);
  EXPECT_EQ(report.files_removed, 1u);
  EXPECT_TRUE(idx_->get_blob(kept)->has_value());
  EXPECT_EQ(idx_->compute_stats()->blob_count, 2u);
}

}  // namespace
}  // namespace regcache::store
