// The blobs and lru column families: one lru row per blobs row, always
// written in the same batch.
#include "index_codec.hpp"
#include "index_impl.hpp"

namespace regcache::store {

result<std::optional<blob_record>> index::get_blob(const core::digest& d) const {
  return impl_->get_record<blob_record>(blobs, d.str(), codec::decode_blob);
}

error_code index::put_blob(const core::digest& d, const blob_record& record) {
  std::lock_guard lock(impl_->write_mutex);
  rocksdb::WriteBatch batch;
  rocksdb::PinnableSlice old;
  const auto s = impl_->get(blobs, d.str(), old);
  if (s.ok()) {
    // An undecodable old row leaves its lru row behind; repair() removes it.
    if (auto previous = codec::decode_blob(old.ToStringView()))
      batch.Delete(impl_->cf(lru), codec::lru_key(previous->last_access_ms, d));
  } else if (!s.IsNotFound()) {
    return from_status(s);
  }
  batch.Put(impl_->cf(blobs), d.str(), codec::encode(record));
  batch.Put(impl_->cf(lru), codec::lru_key(record.last_access_ms, d), rocksdb::Slice());
  return impl_->write(batch, impl_->synced);
}

error_code index::remove_blob(const core::digest& d) {
  std::lock_guard lock(impl_->write_mutex);
  rocksdb::PinnableSlice old;
  const auto s = impl_->get(blobs, d.str(), old);
  if (s.IsNotFound()) return errc::not_found;
  if (!s.ok()) return from_status(s);
  rocksdb::WriteBatch batch;
  if (auto previous = codec::decode_blob(old.ToStringView()))
    batch.Delete(impl_->cf(lru), codec::lru_key(previous->last_access_ms, d));
  batch.Delete(impl_->cf(blobs), d.str());
  return impl_->write(batch, impl_->unsynced);
}

error_code index::for_each_blob(
    const std::function<bool(const core::digest&, const blob_record&)>& visit) const {
  return impl_->for_each_by_digest(blobs, codec::decode_blob, visit);
}

error_code index::for_each_lru(
    const std::function<bool(std::int64_t last_access_ms, const core::digest&)>& visit) const {
  return impl_->scan(lru, {}, false, [&](std::string_view key, std::string_view, error_code& ec) {
    auto entry = codec::decode_lru_key(key);
    if (!entry) {
      ec = errc::corrupt_record;
      return false;
    }
    return visit(entry->last_access_ms, entry->digest);
  });
}

}  // namespace regcache::store
