#include "regcache/store/blob_store.hpp"

#include "regcache/store/errc.hpp"
#include "unit/store/test_support.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

namespace regcache::store {
namespace {

using testing::as_bytes;
using testing::digest_of;
using testing::pattern;
using testing::read_all;
using testing::read_file;

class blob_store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = blob_store::open(dir_.path() / "root");
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    store_ = *opened;
  }

  blob_writer writer_for(std::string_view content, std::optional<std::uint64_t> size = std::nullopt) {
    auto w = store_->create_writer(digest_of(content), size);
    EXPECT_TRUE(w.has_value());
    return std::move(*w);
  }

  std::size_t temp_files() const { return testing::count_entries(store_->tmp_dir()); }

  testing::temp_dir dir_;
  std::shared_ptr<blob_store> store_;
};

TEST_F(blob_store_test, open_creates_the_layout) {
  const auto root = dir_.path() / "root";
  EXPECT_EQ(store_->root(), root);
  EXPECT_TRUE(std::filesystem::is_directory(root / "blobs" / "sha256"));
  EXPECT_TRUE(std::filesystem::is_directory(root / "blobs" / "sha512"));
  EXPECT_TRUE(std::filesystem::is_directory(root / "tmp"));
  EXPECT_EQ(store_->tmp_dir(), root / "tmp");
  EXPECT_EQ(store_->blobs_dir(), root / "blobs");
}

TEST_F(blob_store_test, open_is_idempotent) {
  auto again = blob_store::open(dir_.path() / "root");
  ASSERT_TRUE(again.has_value());
}

TEST_F(blob_store_test, open_fails_when_root_is_a_file) {
  testing::write_file(dir_.path() / "file", "x");
  auto opened = blob_store::open(dir_.path() / "file");
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error(), errc::io_error);
}

TEST_F(blob_store_test, check_writable_leaves_nothing_and_fails_without_tmp) {
  EXPECT_FALSE(store_->check_writable());
  EXPECT_EQ(temp_files(), 0u);
  std::filesystem::remove_all(store_->tmp_dir());
  EXPECT_TRUE(store_->check_writable()) << "a cache directory that lost tmp/ cannot take downloads";
}

TEST_F(blob_store_test, blob_path_is_sharded_by_two_hex) {
  const auto d = digest_of("hello");
  EXPECT_EQ(store_->blob_path(d),
            dir_.path() / "root" / "blobs" / "sha256" / d.hex().substr(0, 2) / d.hex());
}

TEST_F(blob_store_test, verify_checks_without_publishing_and_ends_appends) {
  const auto content = pattern(10'000);
  auto w = writer_for(content, content.size());
  ASSERT_FALSE(w.append(as_bytes(content)));
  EXPECT_FALSE(w.verify());
  EXPECT_FALSE(w.verify()) << "verify is idempotent";
  EXPECT_FALSE(store_->exists(digest_of(content))) << "verified is not yet published";
  EXPECT_EQ(w.append(as_bytes("x")), errc::writer_closed) << "verified content is final";
  auto path = w.commit();
  ASSERT_TRUE(path.has_value()) << path.error().message();
  EXPECT_EQ(read_file(*path), content);
}

TEST_F(blob_store_test, verify_reports_a_mismatch_and_commit_then_cleans_up) {
  const auto content = pattern(10'000);
  auto w = store_->create_writer(digest_of("other"), std::nullopt).value();
  ASSERT_FALSE(w.append(as_bytes(content)));
  EXPECT_EQ(w.verify(), errc::digest_mismatch);
  EXPECT_EQ(w.commit().error(), errc::digest_mismatch);
  EXPECT_EQ(temp_files(), 0u);
}

TEST_F(blob_store_test, commit_publishes_verified_blob) {
  const auto content = pattern(100'000);
  const auto d = digest_of(content);
  auto w = writer_for(content, content.size());
  EXPECT_TRUE(w.temp_path().parent_path() == store_->tmp_dir());
  EXPECT_TRUE(std::filesystem::exists(w.temp_path()));
  EXPECT_EQ(w.expected(), d);
  for (std::size_t off = 0; off < content.size(); off += 7'000) {
    const auto chunk = std::string_view(content).substr(off, 7'000);
    ASSERT_FALSE(w.append(as_bytes(chunk)));
  }
  EXPECT_EQ(w.size(), content.size());

  auto path = w.commit();
  ASSERT_TRUE(path.has_value()) << path.error().message();
  EXPECT_EQ(*path, store_->blob_path(d));
  EXPECT_EQ(read_file(*path), content);
  EXPECT_TRUE(store_->exists(d));
  EXPECT_EQ(temp_files(), 0u);

  struct stat st {};
  ASSERT_EQ(::stat(path->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u) << "committed blobs are read-only";

  auto handle = store_->open_blob(d);
  ASSERT_TRUE(handle.has_value());
  EXPECT_EQ((*handle)->size(), content.size());
  EXPECT_EQ(read_all(**handle), content);
}

TEST_F(blob_store_test, commit_without_expected_size) {
  const std::string content = "no size announced";
  auto w = writer_for(content);
  ASSERT_FALSE(w.append(as_bytes(content)));
  ASSERT_TRUE(w.commit().has_value());
  EXPECT_TRUE(store_->exists(digest_of(content)));
}

TEST_F(blob_store_test, a_download_that_would_take_the_disk_below_min_free_is_refused) {
  std::uint64_t available = 1000;
  store_->keep_free(300, [&]() -> result<disk_space> { return disk_space{10'000, available}; });
  const std::string content(700, 'x');
  EXPECT_TRUE(store_->create_writer(digest_of(content), 700).has_value()) << "exactly min_free is left";
  auto refused = store_->create_writer(digest_of(content), 701);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), errc::no_space);
  EXPECT_EQ(temp_files(), 0u) << "a refused download leaves no temp file";

  available = 299;
  auto unknown_size = store_->create_writer(digest_of(content), std::nullopt);
  ASSERT_FALSE(unknown_size.has_value()) << "already below min_free: not even a download of unknown size";
  EXPECT_EQ(unknown_size.error(), errc::no_space);
  available = 300;
  EXPECT_TRUE(store_->create_writer(digest_of(content), std::nullopt).has_value());
}

TEST_F(blob_store_test, min_free_off_or_unmeasurable_lets_downloads_through) {
  const std::string content(700, 'x');
  store_->keep_free(0, [] { return result<disk_space>(disk_space{10'000, 0}); });
  EXPECT_TRUE(store_->create_writer(digest_of(content), 700).has_value()) << "0 turns the check off";
  store_->keep_free(300, [] { return result<disk_space>(make_error_code(errc::io_error)); });
  EXPECT_TRUE(store_->create_writer(digest_of(content), 700).has_value()) << "writing tells when it is full";
}

TEST_F(blob_store_test, empty_blob_commits) {
  auto w = writer_for("", 0);
  auto path = w.commit();
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(std::filesystem::file_size(*path), 0u);
}

TEST_F(blob_store_test, sha512_blob_goes_under_its_algorithm) {
  const std::string content = "sha512 content";
  const auto d = core::hasher::of(content, core::digest::algorithm::sha512);
  auto w = store_->create_writer(d, content.size());
  ASSERT_TRUE(w.has_value());
  ASSERT_FALSE(w->append(as_bytes(content)));
  auto path = w->commit();
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->parent_path().parent_path(), store_->blobs_dir() / "sha512");
  EXPECT_EQ(read_file(*path), content);
}

TEST_F(blob_store_test, digest_mismatch_removes_temp_and_publishes_nothing) {
  const auto expected = digest_of("what the manifest promised");
  auto w = store_->create_writer(expected, std::nullopt);
  ASSERT_TRUE(w.has_value());
  const auto temp = w->temp_path();
  ASSERT_FALSE(w->append(as_bytes("what the upstream sent")));
  auto path = w->commit();
  ASSERT_FALSE(path.has_value());
  EXPECT_EQ(path.error(), errc::digest_mismatch);
  EXPECT_FALSE(std::filesystem::exists(temp));
  EXPECT_FALSE(store_->exists(expected));
  EXPECT_EQ(temp_files(), 0u);
  EXPECT_EQ(w->commit().error(), errc::writer_closed);
}

TEST_F(blob_store_test, short_content_is_size_mismatch) {
  const std::string content = "complete content";
  auto w = writer_for(content, content.size());
  ASSERT_FALSE(w.append(as_bytes(std::string_view(content).substr(0, 5))));
  auto path = w.commit();
  ASSERT_FALSE(path.has_value());
  EXPECT_EQ(path.error(), errc::size_mismatch);
  EXPECT_FALSE(std::filesystem::exists(w.temp_path()));
  EXPECT_FALSE(store_->exists(digest_of(content)));
}

TEST_F(blob_store_test, wrong_expected_size_is_size_mismatch_even_if_digest_matches) {
  const std::string content = "right bytes";
  auto w = writer_for(content, content.size() + 10);
  ASSERT_FALSE(w.append(as_bytes(content)));
  EXPECT_EQ(w.commit().error(), errc::size_mismatch);
  EXPECT_FALSE(store_->exists(digest_of(content)));
  EXPECT_EQ(temp_files(), 0u);
}

TEST_F(blob_store_test, bytes_beyond_expected_size_are_refused) {
  const std::string content = "0123456789";
  auto w = writer_for(content, 4);
  EXPECT_EQ(w.append(as_bytes(content)), errc::size_mismatch);
  EXPECT_EQ(w.size(), 0u) << "nothing of the oversized chunk is written";
  EXPECT_EQ(w.append(as_bytes("0")), errc::size_mismatch) << "a failed writer stays failed";
  EXPECT_EQ(w.commit().error(), errc::size_mismatch);
  EXPECT_EQ(temp_files(), 0u);
}

TEST_F(blob_store_test, abort_removes_temp_and_is_idempotent) {
  auto w = writer_for("abandoned");
  ASSERT_FALSE(w.append(as_bytes("aban")));
  const auto temp = w.temp_path();
  ASSERT_TRUE(std::filesystem::exists(temp));
  w.abort();
  EXPECT_FALSE(std::filesystem::exists(temp));
  w.abort();
  EXPECT_EQ(w.append(as_bytes("doned")), errc::writer_closed);
  EXPECT_EQ(w.commit().error(), errc::writer_closed);
}

TEST_F(blob_store_test, abort_after_commit_keeps_the_blob) {
  const std::string content = "kept";
  auto w = writer_for(content);
  ASSERT_FALSE(w.append(as_bytes(content)));
  ASSERT_TRUE(w.commit().has_value());
  w.abort();
  EXPECT_TRUE(store_->exists(digest_of(content)));
  EXPECT_EQ(w.commit().error(), errc::writer_closed);
}

TEST_F(blob_store_test, destructor_aborts_open_writer) {
  std::filesystem::path temp;
  {
    auto w = writer_for("dropped on the floor");
    ASSERT_FALSE(w.append(as_bytes("dropped")));
    temp = w.temp_path();
    ASSERT_TRUE(std::filesystem::exists(temp));
  }
  EXPECT_FALSE(std::filesystem::exists(temp));
  EXPECT_EQ(temp_files(), 0u);
}

TEST_F(blob_store_test, moved_writer_keeps_the_download) {
  const std::string content = "moved around";
  auto w = writer_for(content);
  ASSERT_FALSE(w.append(as_bytes("moved ")));
  blob_writer moved(std::move(w));
  EXPECT_EQ(w.append(as_bytes("x")), errc::writer_closed);
  ASSERT_FALSE(moved.append(as_bytes("around")));

  auto other = writer_for("to be replaced");
  const auto replaced_temp = other.temp_path();
  other = std::move(moved);
  EXPECT_FALSE(std::filesystem::exists(replaced_temp)) << "assignment aborts the writer it replaces";
  ASSERT_TRUE(other.commit().has_value());
  EXPECT_EQ(read_file(store_->blob_path(digest_of(content))), content);
}

TEST_F(blob_store_test, reader_survives_commit_rename) {
  const auto content = pattern(50'000, 2);
  auto w = writer_for(content, content.size());
  auto reader = w.reader();
  ASSERT_FALSE(w.append(as_bytes(content)));
  ASSERT_TRUE(w.commit().has_value());
  EXPECT_FALSE(std::filesystem::exists(w.temp_path()));
  EXPECT_EQ(read_all(*reader), content);
}

TEST_F(blob_store_test, reader_survives_abort_unlink_and_writer_destruction) {
  const auto content = pattern(20'000, 3);
  std::shared_ptr<file_handle> reader;
  {
    auto w = writer_for(content);
    reader = w.reader();
    ASSERT_FALSE(w.append(as_bytes(content)));
  }
  EXPECT_EQ(testing::count_entries(store_->tmp_dir()), 0u);
  EXPECT_EQ(reader->size(), content.size());
  EXPECT_EQ(read_all(*reader), content);
}

TEST_F(blob_store_test, open_blob_and_remove_blob_report_not_found) {
  const auto d = digest_of("never stored");
  auto handle = store_->open_blob(d);
  ASSERT_FALSE(handle.has_value());
  EXPECT_EQ(handle.error(), errc::not_found);
  EXPECT_EQ(store_->remove_blob(d), errc::not_found);
  EXPECT_FALSE(store_->exists(d));
}

TEST_F(blob_store_test, remove_blob_unlinks_but_open_handles_keep_reading) {
  const std::string content = "evicted while read";
  const auto d = digest_of(content);
  auto w = writer_for(content);
  ASSERT_FALSE(w.append(as_bytes(content)));
  ASSERT_TRUE(w.commit().has_value());
  auto handle = store_->open_blob(d);
  ASSERT_TRUE(handle.has_value());

  EXPECT_FALSE(store_->remove_blob(d));
  EXPECT_FALSE(store_->exists(d));
  EXPECT_EQ(store_->open_blob(d).error(), errc::not_found);
  EXPECT_EQ(read_all(**handle), content);
}

TEST_F(blob_store_test, two_writers_of_the_same_digest_both_commit) {
  const auto content = pattern(10'000, 4);
  auto a = writer_for(content);
  auto b = writer_for(content);
  EXPECT_NE(a.temp_path(), b.temp_path());
  ASSERT_FALSE(a.append(as_bytes(content)));
  ASSERT_FALSE(b.append(as_bytes(content)));
  ASSERT_TRUE(a.commit().has_value());
  ASSERT_TRUE(b.commit().has_value());
  EXPECT_EQ(read_file(store_->blob_path(digest_of(content))), content);
  EXPECT_EQ(temp_files(), 0u);
}

// The fill path: one writer appends while several clients tail the temp file
// through reader(), each reading only what the writer has published.
TEST_F(blob_store_test, concurrent_readers_tail_a_growing_temp_file) {
  constexpr std::size_t chunk = 4096;
  constexpr std::size_t chunks = 256;
  const auto content = pattern(chunk * chunks + 123, 5);
  auto w = writer_for(content, content.size());
  auto reader = w.reader();
  std::atomic<std::uint64_t> published{0};

  std::vector<std::string> received(4);
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < received.size(); ++i) {
    readers.emplace_back([&, reader, i] {
      auto& out = received[i];
      std::vector<std::byte> buffer(3000);
      while (out.size() < content.size()) {
        const auto limit = published.load(std::memory_order_acquire);
        if (out.size() == limit) {
          std::this_thread::yield();
          continue;
        }
        const auto want = std::min<std::uint64_t>(buffer.size(), limit - out.size());
        auto n = reader->pread(std::span(buffer).first(want), out.size());
        ASSERT_TRUE(n.has_value());
        ASSERT_EQ(*n, want) << "published bytes must be readable";
        out.append(reinterpret_cast<const char*>(buffer.data()), *n);
      }
    });
  }

  for (std::size_t off = 0; off < content.size(); off += chunk) {
    const auto part = std::string_view(content).substr(off, chunk);
    ASSERT_FALSE(w.append(as_bytes(part)));
    published.store(w.size(), std::memory_order_release);
  }
  for (auto& t : readers) t.join();
  ASSERT_TRUE(w.commit().has_value());
  for (const auto& out : received) EXPECT_TRUE(out == content);
}

}  // namespace
}  // namespace regcache::store
