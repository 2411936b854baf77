#include "regcache/store/index.hpp"

#include "regcache/store/errc.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <system_error>
#include <unordered_map>

namespace regcache::store {
namespace {

constexpr char format_version = 1;
constexpr std::string_view schema_key = "schema_version";
constexpr std::uint64_t lru_sign_bit = std::uint64_t{1} << 63;

// New families go at the end: an index opened by an older build gains them
// (create_missing_column_families), and the order below indexes the handles.
enum family : std::size_t { default_family, blobs, lru, manifests, tags, links, pins, family_count };
constexpr std::array<std::string_view, family_count> family_names{"default", "blobs", "lru",  "manifests",
                                                                  "tags",    "links", "pins"};

// ── encoding ────────────────────────────────────────────────────────────────

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void put_i64(std::string& out, std::int64_t v) { put_u64(out, static_cast<std::uint64_t>(v)); }
void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

// Bounds-checked reading of the formats above; every accessor fails instead of
// reading past the end, because a value from disk is input, not an invariant.
class decoder {
 public:
  explicit decoder(std::string_view data) : data_(data) {}

  bool u8(std::uint8_t& v) {
    if (data_.empty()) return false;
    v = static_cast<std::uint8_t>(data_.front());
    data_.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& v) { return fixed(v, 4); }
  bool u64(std::uint64_t& v) { return fixed(v, 8); }
  bool i64(std::int64_t& v) {
    std::uint64_t u = 0;
    if (!u64(u)) return false;
    v = static_cast<std::int64_t>(u);
    return true;
  }
  bool str(std::string_view& s) {
    std::uint32_t n = 0;
    if (!fixed(n, 4) || data_.size() < n) return false;
    s = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  bool version() {
    std::uint8_t v = 0;
    return u8(v) && v == format_version;
  }
  std::string_view rest() {
    auto r = data_;
    data_ = {};
    return r;
  }

 private:
  template <class T>
  bool fixed(T& v, std::size_t n) {
    if (data_.size() < n) return false;
    v = 0;
    for (std::size_t i = 0; i < n; ++i) v = static_cast<T>((v << 8) | static_cast<std::uint8_t>(data_[i]));
    data_.remove_prefix(n);
    return true;
  }
  std::string_view data_;
};

std::string encode(const blob_record& r) {
  std::string out;
  out.reserve(26 + r.media_type.size());
  out.push_back(format_version);
  out.push_back(static_cast<char>(r.pinned ? 1 : 0));
  put_u64(out, r.size);
  put_i64(out, r.created_ms);
  put_i64(out, r.last_access_ms);
  out.append(r.media_type);
  return out;
}

std::optional<blob_record> decode_blob(std::string_view value) {
  decoder in(value);
  blob_record r;
  std::uint8_t flags = 0;
  if (!in.version() || !in.u8(flags) || !in.u64(r.size) || !in.i64(r.created_ms) ||
      !in.i64(r.last_access_ms))
    return std::nullopt;
  r.pinned = (flags & 1) != 0;
  r.media_type = in.rest();
  return r;
}

std::string encode(const manifest_record& r) {
  std::string out;
  out.reserve(21 + r.media_type.size() + r.bytes.size());
  out.push_back(format_version);
  put_i64(out, r.created_ms);
  put_i64(out, r.last_access_ms);
  put_str(out, r.media_type);
  out.append(r.bytes);
  return out;
}

std::optional<manifest_record> decode_manifest(std::string_view value) {
  decoder in(value);
  manifest_record r;
  std::string_view media_type;
  if (!in.version() || !in.i64(r.created_ms) || !in.i64(r.last_access_ms) || !in.str(media_type))
    return std::nullopt;
  r.media_type = media_type;
  r.bytes = in.rest();
  return r;
}

std::string encode(const tag_record& r) {
  std::string out;
  out.push_back(format_version);
  put_i64(out, r.fetched_at_ms);
  put_str(out, r.digest.str());
  put_str(out, r.media_type);
  out.append(r.etag);
  return out;
}

std::optional<tag_record> decode_tag(std::string_view value) {
  decoder in(value);
  std::int64_t fetched_at_ms = 0;
  std::string_view digest_text, media_type;
  if (!in.version() || !in.i64(fetched_at_ms) || !in.str(digest_text) || !in.str(media_type))
    return std::nullopt;
  auto d = core::digest::parse(digest_text);
  if (!d) return std::nullopt;
  return tag_record{std::move(*d), std::string(media_type), fetched_at_ms, std::string(in.rest())};
}

std::string encode(const pin_record& r) {
  std::string out;
  out.push_back(format_version);
  put_str(out, r.digest.str());
  put_i64(out, r.pinned_at_ms);
  put_u32(out, static_cast<std::uint32_t>(r.platforms.size()));
  for (const auto& platform : r.platforms) put_str(out, platform);
  return out;
}

std::optional<pin_record> decode_pin(std::string_view value) {
  decoder in(value);
  std::string_view digest_text;
  std::int64_t pinned_at_ms = 0;
  std::uint32_t count = 0;
  if (!in.version() || !in.str(digest_text) || !in.i64(pinned_at_ms) || !in.u32(count)) return std::nullopt;
  auto d = core::digest::parse(digest_text);
  if (!d) return std::nullopt;
  // No reserve(count): the count is read from disk and may be garbage.
  std::vector<std::string> platforms;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string_view platform;
    if (!in.str(platform)) return std::nullopt;
    platforms.emplace_back(platform);
  }
  if (!in.rest().empty()) return std::nullopt;
  return pin_record{std::move(*d), std::move(platforms), pinned_at_ms};
}

std::string encode_link(std::int64_t seen_ms) {
  std::string out;
  out.push_back(format_version);
  put_i64(out, seen_ms);
  return out;
}

std::string repository_prefix(std::string_view upstream, std::string_view repository) {
  std::string key;
  key.reserve(8 + upstream.size() + repository.size());
  put_str(key, upstream);
  put_str(key, repository);
  return key;
}

std::string lru_key(std::int64_t last_access_ms, const core::digest& d) {
  std::string key;
  key.reserve(8 + d.str().size());
  put_u64(key, static_cast<std::uint64_t>(last_access_ms) ^ lru_sign_bit);
  key.append(d.str());
  return key;
}

struct lru_entry {
  std::int64_t last_access_ms;
  core::digest digest;
};

std::optional<lru_entry> decode_lru_key(std::string_view key) {
  decoder in(key);
  std::uint64_t biased = 0;
  if (!in.u64(biased)) return std::nullopt;
  auto d = core::digest::parse(in.rest());
  if (!d) return std::nullopt;
  return lru_entry{static_cast<std::int64_t>(biased ^ lru_sign_bit), std::move(*d)};
}

// ── RocksDB plumbing ────────────────────────────────────────────────────────

error_code from_status(const rocksdb::Status& s) {
  return s.IsNoSpace() ? errc::no_space : errc::index_error;
}

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

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

struct index::impl {
  std::unique_ptr<rocksdb::DB> db;
  // One handle per opened family: ours first in `family` order, then any
  // family a newer version left behind (RocksDB insists all are opened).
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::WriteOptions synced;
  rocksdb::WriteOptions unsynced;

  // Serialises the read-modify-write mutators; see the header.
  std::mutex write_mutex;

  std::mutex pending_mutex;
  std::unordered_map<core::digest, std::int64_t> pending_access;

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
};

index::index(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}

index::~index() {
  ignore_error(flush_access_times(), "shutting down; only LRU precision is lost");
}

result<std::unique_ptr<index>> index::open(std::filesystem::path dir) {
  std::error_code fs_ec;
  std::filesystem::create_directories(dir, fs_ec);
  if (fs_ec) return error_from_errno(fs_ec.value());

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;
  db_options.max_log_file_size = 4 << 20;
  // With seven families the WAL can only be recycled once all of them flushed;
  // this bound forces the quiet ones (links, tags) to flush eventually.
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
                                    slice(std::string_view(&format_version, 1)));
    if (!put.ok()) return from_status(put);
  } else if (!got.ok()) {
    return from_status(got);
  } else if (schema.ToStringView() != std::string_view(&format_version, 1)) {
    return errc::corrupt_record;
  }
  return std::unique_ptr<index>(new index(std::move(state)));
}

// ── blobs ───────────────────────────────────────────────────────────────────

result<std::optional<blob_record>> index::get_blob(const core::digest& d) const {
  rocksdb::PinnableSlice value;
  const auto s = impl_->get(blobs, d.str(), value);
  if (s.IsNotFound()) return std::optional<blob_record>();
  if (!s.ok()) return from_status(s);
  auto record = decode_blob(value.ToStringView());
  if (!record) return errc::corrupt_record;
  return record;
}

error_code index::put_blob(const core::digest& d, const blob_record& record) {
  std::lock_guard lock(impl_->write_mutex);
  rocksdb::WriteBatch batch;
  rocksdb::PinnableSlice old;
  const auto s = impl_->get(blobs, d.str(), old);
  if (s.ok()) {
    // An undecodable old row leaves its lru row behind; repair() removes it.
    if (auto previous = decode_blob(old.ToStringView()))
      batch.Delete(impl_->cf(lru), lru_key(previous->last_access_ms, d));
  } else if (!s.IsNotFound()) {
    return from_status(s);
  }
  batch.Put(impl_->cf(blobs), d.str(), encode(record));
  batch.Put(impl_->cf(lru), lru_key(record.last_access_ms, d), rocksdb::Slice());
  return impl_->write(batch, impl_->synced);
}

error_code index::remove_blob(const core::digest& d) {
  std::lock_guard lock(impl_->write_mutex);
  rocksdb::PinnableSlice old;
  const auto s = impl_->get(blobs, d.str(), old);
  if (s.IsNotFound()) return errc::not_found;
  if (!s.ok()) return from_status(s);
  rocksdb::WriteBatch batch;
  if (auto previous = decode_blob(old.ToStringView()))
    batch.Delete(impl_->cf(lru), lru_key(previous->last_access_ms, d));
  batch.Delete(impl_->cf(blobs), d.str());
  return impl_->write(batch, impl_->unsynced);
}

error_code index::for_each_blob(
    const std::function<bool(const core::digest&, const blob_record&)>& visit) const {
  return impl_->scan(blobs, {}, false, [&](std::string_view key, std::string_view value, error_code& ec) {
    auto d = core::digest::parse(key);
    auto record = decode_blob(value);
    if (!d || !record) {
      ec = errc::corrupt_record;
      return false;
    }
    return visit(*d, *record);
  });
}

error_code index::for_each_lru(
    const std::function<bool(std::int64_t last_access_ms, const core::digest&)>& visit) const {
  return impl_->scan(lru, {}, false, [&](std::string_view key, std::string_view, error_code& ec) {
    auto entry = decode_lru_key(key);
    if (!entry) {
      ec = errc::corrupt_record;
      return false;
    }
    return visit(entry->last_access_ms, entry->digest);
  });
}

// ── manifests ───────────────────────────────────────────────────────────────

result<std::optional<manifest_record>> index::get_manifest(const core::digest& d) const {
  rocksdb::PinnableSlice value;
  const auto s = impl_->get(manifests, d.str(), value);
  if (s.IsNotFound()) return std::optional<manifest_record>();
  if (!s.ok()) return from_status(s);
  auto record = decode_manifest(value.ToStringView());
  if (!record) return errc::corrupt_record;
  return record;
}

error_code index::put_manifest(const core::digest& d, const manifest_record& record) {
  std::lock_guard lock(impl_->write_mutex);
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(manifests), d.str(), encode(record));
  return impl_->write(batch, impl_->synced);
}

error_code index::remove_manifest(const core::digest& d) {
  std::lock_guard lock(impl_->write_mutex);
  rocksdb::PinnableSlice old;
  const auto s = impl_->get(manifests, d.str(), old);
  if (s.IsNotFound()) return errc::not_found;
  if (!s.ok()) return from_status(s);
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(manifests), d.str());
  return impl_->write(batch, impl_->unsynced);
}

error_code index::for_each_manifest(
    const std::function<bool(const core::digest&, const manifest_record&)>& visit) const {
  return impl_->scan(manifests, {}, false, [&](std::string_view key, std::string_view value, error_code& ec) {
    auto d = core::digest::parse(key);
    auto record = decode_manifest(value);
    if (!d || !record) {
      ec = errc::corrupt_record;
      return false;
    }
    return visit(*d, *record);
  });
}

// ── pins ────────────────────────────────────────────────────────────────────

error_code index::put_pin(std::string_view upstream, std::string_view repository, std::string_view reference,
                          const pin_record& record) {
  auto key = repository_prefix(upstream, repository);
  key.append(reference);
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(pins), key, encode(record));
  return impl_->write(batch, impl_->synced);
}

error_code index::remove_pin(std::string_view upstream, std::string_view repository, std::string_view reference) {
  auto key = repository_prefix(upstream, repository);
  key.append(reference);
  rocksdb::PinnableSlice old;
  const auto s = impl_->get(pins, key, old);
  if (s.IsNotFound()) return errc::not_found;
  if (!s.ok()) return from_status(s);
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(pins), key);
  // Synced like put_pin: an unpin the operator saw succeed must not come back.
  return impl_->write(batch, impl_->synced);
}

result<std::optional<pin_record>> index::get_pin(std::string_view upstream, std::string_view repository,
                                                 std::string_view reference) const {
  auto key = repository_prefix(upstream, repository);
  key.append(reference);
  rocksdb::PinnableSlice value;
  const auto s = impl_->get(pins, key, value);
  if (s.IsNotFound()) return std::optional<pin_record>();
  if (!s.ok()) return from_status(s);
  auto record = decode_pin(value.ToStringView());
  if (!record) return errc::corrupt_record;
  return record;
}

error_code index::for_each_pin(
    const std::function<bool(std::string_view upstream, std::string_view repository, std::string_view reference,
                             const pin_record&)>& visit) const {
  return impl_->scan(pins, {}, true, [&](std::string_view key, std::string_view value, error_code& ec) {
    decoder in(key);
    std::string_view upstream, repository;
    auto record = decode_pin(value);
    if (!in.str(upstream) || !in.str(repository) || !record) {
      ec = errc::corrupt_record;
      return false;
    }
    return visit(upstream, repository, in.rest(), *record);
  });
}

// ── tags ────────────────────────────────────────────────────────────────────

result<std::optional<tag_record>> index::get_tag(std::string_view upstream, std::string_view repository,
                                                 std::string_view tag) const {
  auto key = repository_prefix(upstream, repository);
  key.append(tag);
  rocksdb::PinnableSlice value;
  const auto s = impl_->get(tags, key, value);
  if (s.IsNotFound()) return std::optional<tag_record>();
  if (!s.ok()) return from_status(s);
  auto record = decode_tag(value.ToStringView());
  if (!record) return errc::corrupt_record;
  return record;
}

error_code index::put_tag(std::string_view upstream, std::string_view repository, std::string_view tag,
                          const tag_record& record) {
  auto key = repository_prefix(upstream, repository);
  key.append(tag);
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(tags), key, encode(record));
  return impl_->write(batch, impl_->unsynced);
}

error_code index::remove_tag(std::string_view upstream, std::string_view repository, std::string_view tag) {
  auto key = repository_prefix(upstream, repository);
  key.append(tag);
  rocksdb::PinnableSlice old;
  const auto s = impl_->get(tags, key, old);
  if (s.IsNotFound()) return errc::not_found;
  if (!s.ok()) return from_status(s);
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(tags), key);
  return impl_->write(batch, impl_->unsynced);
}

result<std::vector<std::string>> index::list_tags(std::string_view upstream,
                                                  std::string_view repository) const {
  const auto prefix = repository_prefix(upstream, repository);
  std::vector<std::string> names;
  // The length-prefixed repository ends the prefix exactly: "repo" cannot
  // match "repo2" or "repo/sub", whose lengths differ.
  auto ec = impl_->scan(tags, prefix, true, [&](std::string_view key, std::string_view, error_code&) {
    names.emplace_back(key.substr(prefix.size()));
    return true;
  });
  if (ec) return ec;
  return names;
}

error_code index::for_each_tag(
    const std::function<bool(std::string_view upstream, std::string_view repository, std::string_view tag,
                             const tag_record&)>& visit) const {
  return impl_->scan(tags, {}, false, [&](std::string_view key, std::string_view value, error_code& ec) {
    decoder in(key);
    std::string_view upstream, repository;
    auto record = decode_tag(value);
    if (!in.str(upstream) || !in.str(repository) || !record) {
      ec = errc::corrupt_record;
      return false;
    }
    return visit(upstream, repository, in.rest(), *record);
  });
}

// ── links ───────────────────────────────────────────────────────────────────

result<bool> index::has_link(std::string_view upstream, std::string_view repository,
                             const core::digest& d) const {
  auto key = repository_prefix(upstream, repository);
  key.append(d.str());
  rocksdb::PinnableSlice value;
  const auto s = impl_->get(links, key, value);
  if (s.IsNotFound()) return false;
  // result<bool> cannot tell an error_code from a bool by conversion alone.
  if (!s.ok()) return result<bool>(boost::system::in_place_error, from_status(s));
  return true;
}

error_code index::put_link(std::string_view upstream, std::string_view repository, const core::digest& d,
                           std::int64_t seen_ms) {
  auto key = repository_prefix(upstream, repository);
  key.append(d.str());
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(links), key, encode_link(seen_ms));
  return impl_->write(batch, impl_->unsynced);
}

// ── access times ────────────────────────────────────────────────────────────

void index::record_access(const core::digest& d, std::int64_t now_ms) {
  std::lock_guard lock(impl_->pending_mutex);
  auto [it, inserted] = impl_->pending_access.try_emplace(d, now_ms);
  if (!inserted) it->second = std::max(it->second, now_ms);
}

error_code index::flush_access_times() {
  std::unordered_map<core::digest, std::int64_t> times;
  {
    std::lock_guard lock(impl_->pending_mutex);
    times.swap(impl_->pending_access);
  }
  if (times.empty()) return {};

  auto ec = [&]() -> error_code {
    std::lock_guard lock(impl_->write_mutex);
    rocksdb::WriteBatch batch;
    for (const auto& [d, ms] : times) {
      rocksdb::PinnableSlice value;
      auto s = impl_->get(blobs, d.str(), value);
      if (s.ok()) {
        // A row that does not decode is left for repair(), not rewritten.
        if (auto record = decode_blob(value.ToStringView()); record && ms > record->last_access_ms) {
          batch.Delete(impl_->cf(lru), lru_key(record->last_access_ms, d));
          record->last_access_ms = ms;
          batch.Put(impl_->cf(blobs), d.str(), encode(*record));
          batch.Put(impl_->cf(lru), lru_key(ms, d), rocksdb::Slice());
        }
      } else if (!s.IsNotFound()) {
        return from_status(s);
      }

      value.Reset();
      s = impl_->get(manifests, d.str(), value);
      if (s.ok()) {
        if (auto record = decode_manifest(value.ToStringView());
            record && ms - record->last_access_ms >= manifest_access_granularity_ms) {
          record->last_access_ms = ms;
          batch.Put(impl_->cf(manifests), d.str(), encode(*record));
        }
      } else if (!s.IsNotFound()) {
        return from_status(s);
      }
    }
    if (batch.Count() == 0) return {};
    return impl_->write(batch, impl_->unsynced);
  }();

  if (ec) {
    std::lock_guard lock(impl_->pending_mutex);
    for (const auto& [d, ms] : times) {
      auto [it, inserted] = impl_->pending_access.try_emplace(d, ms);
      if (!inserted) it->second = std::max(it->second, ms);
    }
  }
  return ec;
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
    auto record = decode_blob(value);
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
    auto record = decode_blob(value);
    if (!d || !record) {
      batch.Delete(impl_->cf(blobs), slice(key));
      ++dropped;
      return true;
    }
    const auto wanted = lru_key(record->last_access_ms, *d);
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
    auto entry = decode_lru_key(key);
    bool keep = false;
    if (entry) {
      rocksdb::PinnableSlice value;
      const auto s = impl_->get(blobs, entry->digest.str(), value);
      if (s.ok()) {
        auto record = decode_blob(value.ToStringView());
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
