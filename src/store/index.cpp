// Opening the index and what spans its families (stats, repair, the
// readiness probe). The families themselves live in index_blobs.cpp,
// index_manifests.cpp, index_references.cpp, index_lists.cpp, index_scans.cpp and
// index_access_times.cpp; the row formats in index_codec.cpp.
#include "regcache/store/index.hpp"

#include "index_codec.hpp"
#include "index_impl.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>

#include <algorithm>
#include <system_error>

namespace regcache::store {
namespace {

constexpr std::string_view schema_key = "schema_version";

rocksdb::ColumnFamilyOptions family_options(const std::shared_ptr<rocksdb::Cache>& block_cache,
                                            family f) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = block_cache;
  // Index and filter blocks count against the one cache budget instead of
  // growing with the number of files; L0's stay pinned because every read
  // touches them.
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Point lookups dominate and most blob lookups on a cold cache are misses:
  // a bloom filter answers those without reading a data block. lru is only
  // ever scanned.
  if (f != lru) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::ColumnFamilyOptions options;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.write_buffer_size = 8 << 20;
  options.level_compaction_dynamic_level_bytes = true;
  if (f == lru) {
    // lru behaves like a queue: rows are deleted at the old end and inserted at
    // the new end, so scans from the front would wade through tombstones.
    // Compact files as soon as deletions dominate a window of keys.
    options.table_properties_collector_factories.push_back(
        rocksdb::NewCompactOnDeletionCollectorFactory(128, 64));
  }
  return options;
}

}  // namespace

index::index(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}

index::~index() {
  ignore_error(flush_access_times(), "shutting down; only LRU precision is lost");
}

result<std::unique_ptr<index>> index::open(std::filesystem::path dir, list_limits limits) {
  std::error_code fs_ec;
  std::filesystem::create_directories(dir, fs_ec);
  if (fs_ec) return error_from_errno(fs_ec.value());

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;
  db_options.max_log_file_size = 4 << 20;
  // With a family per kind of row the WAL is only recycled once all of them flushed;
  // this bound forces the quiet ones (links, tags, lists) to flush eventually.
  db_options.max_total_wal_size = 64 << 20;

  // Shared by all families: the index is small and read-heavy, so a few tens
  // of MiB hold the hot manifests, tags and blob rows.
  const auto block_cache = rocksdb::NewLRUCache(32 << 20);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t f = 0; f < family_count; ++f)
    descriptors.emplace_back(std::string(family_names[f]), family_options(block_cache, family(f)));
  // A new directory has no families to list yet; that failure is expected.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, dir.string(), &existing).ok()) {
    for (const auto& name : existing) {
      if (std::find(family_names.begin(), family_names.end(), name) == family_names.end())
        descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
  }

  auto state = std::make_unique<impl>();
  rocksdb::DB* db = nullptr;
  const auto s = rocksdb::DB::Open(db_options, dir.string(), descriptors, &state->handles, &db);
  if (!s.ok()) return from_status(s);
  state->db.reset(db);

  // Keys have no version byte of their own: a schema marker guards their
  // layout, so an index written by an incompatible build is refused whole.
  rocksdb::PinnableSlice schema;
  const auto got = state->get(default_family, schema_key, schema);
  if (got.IsNotFound()) {
    const auto put = state->db->Put(state->synced, state->cf(default_family), slice(schema_key),
                                    slice(std::string_view(&codec::format_version, 1)));
    if (!put.ok()) return from_status(put);
  } else if (!got.ok()) {
    return from_status(got);
  } else if (schema.ToStringView() != std::string_view(&codec::format_version, 1)) {
    return errc::corrupt_record;
  }
  if (auto ec = state->load_bounded_rows(limits)) return ec;
  return std::unique_ptr<index>(new index(std::move(state)));
}

// ── whole-index operations ──────────────────────────────────────────────────

error_code index::check_writable() {
  static constexpr std::string_view probe_key = "readiness_probe";
  const auto s = impl_->db->Put(impl_->unsynced, impl_->cf(default_family), slice(probe_key), slice("1"));
  return s.ok() ? error_code{} : from_status(s);
}

result<index::stats> index::compute_stats() const {
  stats out;
  auto ec = impl_->scan(blobs, {}, false, [&](std::string_view, std::string_view value, error_code& e) {
    auto record = codec::decode_blob(value);
    if (!record) {
      e = errc::corrupt_record;
      return false;
    }
    ++out.blob_count;
    out.blob_bytes += record->size;
    return true;
  });
  if (ec) return ec;
  ec = impl_->scan(manifests, {}, false, [&](std::string_view, std::string_view, error_code&) {
    ++out.manifest_count;
    return true;
  });
  if (ec) return ec;
  ec = impl_->scan(tags, {}, false, [&](std::string_view, std::string_view, error_code&) {
    ++out.tag_count;
    return true;
  });
  if (ec) return ec;
  return out;
}

result<std::size_t> index::repair() {
  std::lock_guard lock(impl_->write_mutex);
  rocksdb::WriteBatch batch;
  std::size_t dropped = 0;

  // Both passes read the index as it was before this batch: a row dropped in
  // the first pass still exists in the second, but does not decode there
  // either, so its lru rows go too.
  auto ec = impl_->scan(blobs, {}, false, [&](std::string_view key, std::string_view value, error_code& e) {
    auto d = core::digest::parse(key);
    auto record = codec::decode_blob(value);
    if (!d || !record) {
      batch.Delete(impl_->cf(blobs), slice(key));
      ++dropped;
      return true;
    }
    const auto wanted = codec::lru_key(record->last_access_ms, *d);
    rocksdb::PinnableSlice ignored;
    const auto s = impl_->get(lru, wanted, ignored);
    if (s.IsNotFound()) {
      batch.Put(impl_->cf(lru), wanted, rocksdb::Slice());
    } else if (!s.ok()) {
      e = from_status(s);
      return false;
    }
    return true;
  });
  if (ec) return ec;

  ec = impl_->scan(lru, {}, false, [&](std::string_view key, std::string_view, error_code& e) {
    auto entry = codec::decode_lru_key(key);
    bool keep = false;
    if (entry) {
      rocksdb::PinnableSlice value;
      const auto s = impl_->get(blobs, entry->digest.str(), value);
      if (s.ok()) {
        auto record = codec::decode_blob(value.ToStringView());
        keep = record && record->last_access_ms == entry->last_access_ms;
      } else if (!s.IsNotFound()) {
        e = from_status(s);
        return false;
      }
    }
    if (!keep) batch.Delete(impl_->cf(lru), slice(key));
    return true;
  });
  if (ec) return ec;

  if (batch.Count() > 0) {
    if (auto write_ec = impl_->write(batch, impl_->synced)) return write_ec;
  }
  return dropped;
}

}  // namespace regcache::store
