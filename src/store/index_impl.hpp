#pragma once
// The RocksDB side of store::index, shared by the files that implement its
// column families (index.cpp, index_blobs.cpp, index_manifests.cpp,
// index_references.cpp, index_lists.cpp, index_access_times.cpp,
// index_scans.cpp, index_verdicts.cpp). Private to the store.
#include "regcache/store/errc.hpp"
#include "regcache/store/index.hpp"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <memory>
#include <mutex>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace regcache::store {

// New families go at the end: an index opened by an older build gains them
// (create_missing_column_families), and the order below indexes the handles.
enum family : std::size_t {
  default_family,
  blobs,
  lru,
  manifests,
  tags,
  links,
  pins,
  scans,
  tag_lists,
  referrers,
  verdicts,
  family_count
};
inline constexpr std::array<std::string_view, family_count> family_names{
    "default", "blobs", "lru", "manifests", "tags", "links", "pins", "scans", "tag_lists", "referrers",
    "verdicts"};

// The rows of a bounded family (tag_lists, referrers) oldest first, so that a
// put past the bound knows which rows leave without scanning the family.
// Filled at open; kept in step by the family's puts (index_lists.cpp), the
// only writers of those families.
struct bounded_rows {
  std::size_t max_rows = 0;
  std::uint64_t max_bytes = 0;
  std::uint64_t bytes = 0;  // keys and values of all rows
  // key → fetched_ms.
  std::unordered_map<std::string, std::int64_t> fetched;
  // (fetched_ms, key) → the row's bytes, key and value. The key views its
  // `fetched` entry (node-based, so the view lives as long as that entry).
  std::map<std::pair<std::int64_t, std::string_view>, std::uint64_t> by_age;
};

inline error_code from_status(const rocksdb::Status& s) {
  return s.IsNoSpace() ? errc::no_space : errc::index_error;
}

inline rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

struct index::impl {
  std::unique_ptr<rocksdb::DB> db;
  // One handle per opened family: ours first in `family` order, then any
  // family a newer version left behind (RocksDB insists all are opened).
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::WriteOptions synced;
  rocksdb::WriteOptions unsynced;

  // Serialises the read-modify-write mutators; see index.hpp.
  std::mutex write_mutex;

  std::mutex pending_mutex;
  std::unordered_map<core::digest, std::int64_t> pending_access;

  // Guards the bounded families' age orders; see index.hpp.
  std::mutex lists_mutex;
  bounded_rows tag_list_rows;
  bounded_rows referrers_rows;

  // Fills the age orders from the families (at open) under `limits`.
  error_code load_bounded_rows(const list_limits& limits);
  // Writes one row of a bounded family (tag_lists, referrers) and, in the
  // same batch, deletes the oldest rows its bound has no more room for.
  error_code put_bounded(family f, std::string key, std::string value, std::int64_t fetched_ms);

  impl() { synced.sync = true; }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() {
    if (!db) return;
    for (auto* h : handles) ignore_error(from_status(db->DestroyColumnFamilyHandle(h)), "closing anyway");
    ignore_error(from_status(db->Close()), "the WAL makes an unclean close safe");
  }

  rocksdb::ColumnFamilyHandle* cf(family f) const { return handles[f]; }

  rocksdb::Status get(family f, std::string_view key, rocksdb::PinnableSlice& value) const {
    return db->Get(rocksdb::ReadOptions(), cf(f), slice(key), &value);
  }

  error_code write(rocksdb::WriteBatch& batch, const rocksdb::WriteOptions& options) {
    const auto s = db->Write(options, &batch);
    return s.ok() ? error_code{} : from_status(s);
  }

  // Deletes the row at `key`, written with `options`. errc::not_found if there is none.
  error_code remove(family f, std::string_view key, const rocksdb::WriteOptions& options) {
    rocksdb::PinnableSlice old;
    const auto s = get(f, key, old);
    if (s.IsNotFound()) return errc::not_found;
    if (!s.ok()) return from_status(s);
    rocksdb::WriteBatch batch;
    batch.Delete(cf(f), slice(key));
    return write(batch, options);
  }

  // Calls visit(key, value, ec) for each row whose key starts with `prefix`
  // until it returns false; a visitor that fails sets ec. Bulk scans pass
  // fill_cache=false so they do not push the hot rows out of the block cache.
  template <class Visit>
  error_code scan(family f, std::string_view prefix, bool fill_cache, Visit&& visit) const {
    rocksdb::ReadOptions options;
    options.fill_cache = fill_cache;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(options, cf(f)));
    error_code ec;
    for (it->Seek(slice(prefix)); it->Valid(); it->Next()) {
      const auto key = it->key().ToStringView();
      if (!key.starts_with(prefix)) break;
      if (!visit(key, it->value().ToStringView(), ec)) break;
    }
    if (ec) return ec;
    if (!it->status().ok()) return from_status(it->status());
    return {};
  }

  // Visits every row of a family keyed by digest (blobs, manifests),
  // decoding key and value; errc::corrupt_record on a row that does not decode.
  template <class Decode, class Visit>
  error_code for_each_by_digest(family f, Decode decode, const Visit& visit) const {
    return scan(f, {}, false, [&](std::string_view key, std::string_view value, error_code& ec) {
      auto d = core::digest::parse(key);
      auto record = decode(value);
      if (!d || !record) {
        ec = errc::corrupt_record;
        return false;
      }
      return visit(*d, *record);
    });
  }

  // Reads and decodes one row: nullopt when absent, errc::corrupt_record when
  // it does not decode.
  template <class Record, class Decode>
  result<std::optional<Record>> get_record(family f, std::string_view key, Decode decode) const {
    rocksdb::PinnableSlice value;
    const auto s = get(f, key, value);
    if (s.IsNotFound()) return std::optional<Record>();
    if (!s.ok()) return from_status(s);
    auto record = decode(value.ToStringView());
    if (!record) return errc::corrupt_record;
    return record;
  }

  // Puts one row in its own batch.
  error_code put(family f, std::string_view key, std::string_view value, const rocksdb::WriteOptions& options) {
    rocksdb::WriteBatch batch;
    batch.Put(cf(f), slice(key), slice(value));
    return write(batch, options);
  }
};

}  // namespace regcache::store
