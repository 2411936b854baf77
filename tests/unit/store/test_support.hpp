#pragma once
// Shared fixtures of the store tests: a private temp directory per test and
// small helpers for bytes and digests.
#include "regcache/core/digest.hpp"
#include "regcache/core/hasher.hpp"
#include "regcache/store/blob_store.hpp"
#include "regcache/store/file_handle.hpp"
#include "regcache/store/index.hpp"
#include "regcache/store/remover.hpp"
#include "unit/core/temp_dir.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::store::testing {

using regcache::testing::temp_dir;

inline std::span<const std::byte> as_bytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

inline core::digest digest_of(std::string_view content) { return core::hasher::of(content); }

// Deterministic content that differs at every offset of interest.
inline std::string pattern(std::size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void write_file(const std::filesystem::path& p, std::string_view content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

// Everything readable through `handle` from offset 0.
inline std::string read_all(const file_handle& handle) {
  std::string out;
  std::vector<std::byte> buffer(4096);
  for (;;) {
    auto n = handle.pread(buffer, out.size());
    EXPECT_TRUE(n.has_value());
    if (!n || *n == 0) break;
    out.append(reinterpret_cast<const char*>(buffer.data()), *n);
  }
  return out;
}

inline std::size_t count_entries(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(
      std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()));
}

// What a remover told its listeners, for the tests that check every removal
// is heard of.
class recording_listener : public removal_listener {
 public:
  void blob_removed(const core::digest& d, std::uint64_t size) override { blobs.emplace(d, size); }
  void manifest_removed(const core::digest& d) override { manifests.push_back(d); }
  void tag_removed(std::string_view upstream, std::string_view repository, std::string_view tag) override {
    tags.push_back(std::string(upstream) + "/" + std::string(repository) + ":" + std::string(tag));
  }

  std::map<core::digest, std::uint64_t> blobs;
  std::vector<core::digest> manifests;
  std::vector<std::string> tags;
};

// A blob store and its index in a fresh directory, with the remover over
// them and a listener recording what it removed, for the tests of what walks
// both (reconcile, fsck).
class store_and_index_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto blobs = blob_store::open(dir_.path() / "root");
    ASSERT_TRUE(blobs.has_value());
    blobs_ = *blobs;
    auto idx = index::open(dir_.path() / "root" / "index");
    ASSERT_TRUE(idx.has_value());
    idx_ = std::move(*idx);
    remover_ = std::make_unique<remover>(*blobs_, *idx_);
    remover_->add_listener(heard_);
  }

  // A blob committed through the writer and indexed, as the cache does it.
  core::digest store_blob(std::string_view content, std::string media_type = "application/octet-stream",
                          bool pinned = false) {
    const auto d = digest_of(content);
    auto w = blobs_->create_writer(d, content.size());
    EXPECT_TRUE(w.has_value());
    EXPECT_FALSE(w->append(as_bytes(content)));
    EXPECT_TRUE(w->commit().has_value());
    EXPECT_FALSE(idx_->put_blob(d, {.size = content.size(), .media_type = std::move(media_type),
                                    .created_ms = 1, .last_access_ms = 2, .pinned = pinned}));
    return d;
  }

  temp_dir dir_;
  std::shared_ptr<blob_store> blobs_;
  std::unique_ptr<index> idx_;
  recording_listener heard_;
  std::unique_ptr<remover> remover_;
};

}  // namespace regcache::store::testing
