// The scans column family: the scan gate's verdict per manifest digest.
#include "index_codec.hpp"
#include "index_impl.hpp"

namespace regcache::store {

result<std::optional<scan_record>> index::get_scan(const core::digest& d) const {
  return impl_->get_record<scan_record>(scans, d.str(), codec::decode_scan);
}

error_code index::put_scan(const core::digest& d, const scan_record& record) {
  // Under the mutex remove_manifest takes: a verdict never outlives its
  // manifest's row, however the scan and the removal interleave.
  std::lock_guard lock(impl_->write_mutex);
  const auto key = d.str();
  rocksdb::PinnableSlice manifest;
  const auto s = impl_->get(manifests, key, manifest);
  if (s.IsNotFound()) return errc::not_found;
  if (!s.ok()) return from_status(s);
  return impl_->put(scans, key, codec::encode(record), impl_->unsynced);
}

error_code index::for_each_scan(const std::function<bool(const core::digest&, const scan_record&)>& visit) const {
  return impl_->for_each_by_digest(scans, codec::decode_scan, visit);
}

}  // namespace regcache::store
