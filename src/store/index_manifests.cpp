// The manifests column family: each row holds the manifest's exact bytes.
#include "index_codec.hpp"
#include "index_impl.hpp"

namespace regcache::store {

result<std::optional<manifest_record>> index::get_manifest(const core::digest& d) const {
  return impl_->get_record<manifest_record>(manifests, d.str(), codec::decode_manifest);
}

error_code index::put_manifest(const core::digest& d, const manifest_record& record) {
  std::lock_guard lock(impl_->write_mutex);
  return impl_->put(manifests, d.str(), codec::encode(record), impl_->synced);
}

error_code index::remove_manifest(const core::digest& d) {
  std::lock_guard lock(impl_->write_mutex);
  const auto key = d.str();
  rocksdb::PinnableSlice old;
  const auto s = impl_->get(manifests, key, old);
  if (s.IsNotFound()) return errc::not_found;
  if (!s.ok()) return from_status(s);
  // The verdict goes with the manifest: a manifest cached again is scanned again.
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(manifests), slice(key));
  batch.Delete(impl_->cf(scans), slice(key));
  return impl_->write(batch, impl_->unsynced);
}

error_code index::for_each_manifest(
    const std::function<bool(const core::digest&, const manifest_record&)>& visit) const {
  return impl_->for_each_by_digest(manifests, codec::decode_manifest, visit);
}

}  // namespace regcache::store
