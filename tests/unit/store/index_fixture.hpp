#pragma once
// The fixture of the index tests (index_test.cpp and the index_*_test.cpp
// files mirroring src/store/index*.cpp): an index in a fresh directory, a
// way to write raw rows behind its back to model corruption on disk, and one
// to make an index as an older build left it.
#include "regcache/store/index.hpp"
#include "unit/store/test_support.hpp"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regcache::store::testing {

class index_test : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    idx_.reset();
    auto opened = index::open(dir_.path() / "index");
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    idx_ = std::move(*opened);
  }

  std::vector<std::pair<std::int64_t, core::digest>> lru_rows() const {
    std::vector<std::pair<std::int64_t, core::digest>> rows;
    EXPECT_FALSE(idx_->for_each_lru([&](std::int64_t ms, const core::digest& d) {
      rows.emplace_back(ms, d);
      return true;
    }));
    return rows;
  }

  static blob_record blob(std::uint64_t size, std::int64_t last_access_ms) {
    return {.size = size, .media_type = "application/vnd.oci.image.layer.v1.tar+gzip",
            .created_ms = 1'000, .last_access_ms = last_access_ms, .pinned = false};
  }

  // Writes a raw row behind the index's back, to model corruption on disk.
  // Closes the index; call reopen() afterwards.
  void put_raw(std::string_view family, std::string_view key, std::string_view value) {
    idx_.reset();
    const auto path = (dir_.path() / "index").string();
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &db).ok());
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] != family) continue;
      EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], rocksdb::Slice(key.data(), key.size()),
                          rocksdb::Slice(value.data(), value.size()))
                      .ok());
    }
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }

  // Creates an index of schema 1 at `path` with only the families `names`,
  // as an older build left it.
  static void create_old_index(const std::string& path, std::initializer_list<const char*> names) {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const char* name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, path, descriptors, &handles, &db).ok());
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[0], "schema_version", "\x01").ok());
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }

  temp_dir dir_;
  std::unique_ptr<index> idx_;
  const core::digest a_ = digest_of("a");
  const core::digest b_ = digest_of("b");
  const core::digest c_ = digest_of("c");
};

}  // namespace regcache::store::testing
