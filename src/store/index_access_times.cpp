// Access times: gathered in memory by record_access, written in batches.
#include "index_codec.hpp"
#include "index_impl.hpp"

#include <algorithm>

namespace regcache::store {

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
        if (auto record = codec::decode_blob(value.ToStringView()); record && ms > record->last_access_ms) {
          batch.Delete(impl_->cf(lru), codec::lru_key(record->last_access_ms, d));
          record->last_access_ms = ms;
          batch.Put(impl_->cf(blobs), d.str(), codec::encode(*record));
          batch.Put(impl_->cf(lru), codec::lru_key(ms, d), rocksdb::Slice());
        }
      } else if (!s.IsNotFound()) {
        return from_status(s);
      }

      value.Reset();
      s = impl_->get(manifests, d.str(), value);
      if (s.ok()) {
        if (auto record = codec::decode_manifest(value.ToStringView());
            record && ms - record->last_access_ms >= manifest_access_granularity_ms) {
          record->last_access_ms = ms;
          batch.Put(impl_->cf(manifests), d.str(), codec::encode(*record));
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

}  // namespace regcache::store
