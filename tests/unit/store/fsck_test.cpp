#include "regcache/store/fsck.hpp"

#include "unit/store/test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace regcache::store {
namespace {

using testing::as_bytes;
using testing::digest_of;
using testing::pattern;
using testing::write_file;

class fsck_test : public testing::store_and_index_test {
 protected:
  void SetUp() override {
    store_and_index_test::SetUp();
    options_.unindexed_grace = std::chrono::seconds(0);
  }

  // Committed files are read-only: replace rather than rewrite.
  void overwrite(const core::digest& d, std::string_view content) {
    std::filesystem::remove(blobs_->blob_path(d));
    write_file(blobs_->blob_path(d), content);
  }

  fsck_report run() {
    auto report = fsck(*remover_, options_);
    EXPECT_TRUE(report.has_value()) << report.error().message();
    return report ? *report : fsck_report{};
  }

  fsck_options options_;
};

TEST_F(fsck_test, clean_store_has_no_findings) {
  store_blob("one");
  store_blob(pattern(3 << 20));
  const auto report = run();
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(report.rows_checked, 2u);
  EXPECT_EQ(report.files_checked, 2u);
  EXPECT_EQ(report.bytes_checked, 3u + (3u << 20));
  EXPECT_EQ(report.files_removed, 0u);
}

TEST_F(fsck_test, corrupt_content_is_removed_with_its_row) {
  const auto good = store_blob("good");
  const auto bad = store_blob("abcd");
  overwrite(bad, "abce");  // same size, other bytes
  const auto report = run();
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_EQ(report.findings[0].problem, fsck_problem::hash_mismatch);
  EXPECT_EQ(report.findings[0].digest, bad);
  EXPECT_TRUE(report.findings[0].removed);
  EXPECT_EQ(report.files_removed, 1u);
  EXPECT_EQ(report.rows_removed, 1u);
  EXPECT_EQ(report.bytes_removed, 4u);
  EXPECT_FALSE(blobs_->exists(bad));
  EXPECT_FALSE(idx_->get_blob(bad)->has_value());
  EXPECT_TRUE(blobs_->exists(good));
  EXPECT_EQ(heard_.blobs, (std::map<core::digest, std::uint64_t>{{bad, 4}})) << "removed through the remover";
}

TEST_F(fsck_test, dry_run_reports_without_removing) {
  const auto bad = store_blob("abcd");
  overwrite(bad, "abce");
  options_.dry_run = true;
  const auto report = run();
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_FALSE(report.findings[0].removed);
  EXPECT_TRUE(report.dry_run);
  EXPECT_TRUE(blobs_->exists(bad));
  EXPECT_TRUE(idx_->get_blob(bad)->has_value());
  EXPECT_TRUE(heard_.blobs.empty());
}

TEST_F(fsck_test, size_mismatch_with_the_row) {
  const auto d = store_blob("abcd");
  overwrite(d, "abcdef");
  const auto report = run();
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_EQ(report.findings[0].problem, fsck_problem::size_mismatch);
  EXPECT_NE(report.findings[0].detail.find("4 bytes"), std::string::npos);
  EXPECT_FALSE(blobs_->exists(d));
  EXPECT_FALSE(idx_->get_blob(d)->has_value());
}

TEST_F(fsck_test, row_without_file_is_dropped) {
  const auto d = store_blob("gone");
  std::filesystem::remove(blobs_->blob_path(d));
  const auto report = run();
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_EQ(report.findings[0].problem, fsck_problem::missing_file);
  EXPECT_EQ(report.rows_removed, 1u);
  EXPECT_EQ(report.files_removed, 0u);
  EXPECT_FALSE(idx_->get_blob(d)->has_value());
  EXPECT_EQ(heard_.blobs, (std::map<core::digest, std::uint64_t>{{d, 4}}));
}

TEST_F(fsck_test, file_without_row_and_stray_names) {
  const auto d = digest_of("orphan");
  write_file(blobs_->blob_path(d), "orphan");
  const auto stray = blobs_->blobs_dir() / "sha256" / "ab" / "not-a-digest";
  write_file(stray, "x");
  const auto report = run();
  ASSERT_EQ(report.findings.size(), 2u);
  EXPECT_EQ(report.findings[0].problem, fsck_problem::no_row);
  EXPECT_EQ(report.findings[0].digest, d);
  EXPECT_EQ(report.findings[1].problem, fsck_problem::no_row);
  EXPECT_FALSE(report.findings[1].digest.has_value());
  EXPECT_FALSE(blobs_->exists(d));
  EXPECT_FALSE(std::filesystem::exists(stray));
  EXPECT_TRUE(heard_.blobs.empty()) << "a file without a row was never counted";
}

TEST_F(fsck_test, young_file_without_row_is_left_for_its_writer) {
  const auto d = digest_of("committing");
  write_file(blobs_->blob_path(d), "committing");
  options_.unindexed_grace = std::chrono::seconds(3600);
  const auto report = run();
  EXPECT_TRUE(report.clean());
  EXPECT_TRUE(blobs_->exists(d));
}

TEST_F(fsck_test, progress_reaches_the_totals_and_reports_within_large_files) {
  store_blob(pattern(5 << 20, 1));
  store_blob("small");
  options_.progress_interval_bytes = 1 << 20;
  std::vector<fsck_progress> seen;
  options_.on_progress = [&](const fsck_progress& p) { seen.push_back(p); };
  run();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().files_done, 2u);
  EXPECT_EQ(seen.back().files_total, 2u);
  EXPECT_EQ(seen.back().bytes_done, seen.back().bytes_total);
  EXPECT_EQ(seen.back().bytes_total, (5u << 20) + 5u);
  // Start, at least 4 updates inside the 5 MiB file, one per file.
  EXPECT_GE(seen.size(), 7u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end(), [](const fsck_progress& a, const fsck_progress& b) {
    return a.bytes_done < b.bytes_done;
  }));
}

}  // namespace
}  // namespace regcache::store
