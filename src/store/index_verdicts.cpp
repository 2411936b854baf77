// The verdicts family: the signature gate's judgement per manifest digest,
// upstream and repository.
#include "index_codec.hpp"
#include "index_impl.hpp"

namespace regcache::store {

result<std::optional<verdict_record>> index::get_verdict(const core::digest& d, std::string_view upstream,
                                                         std::string_view repository) const {
  return impl_->get_record<verdict_record>(verdicts, codec::verdict_key(d, upstream, repository),
                                           codec::decode_verdict);
}

error_code index::put_verdict(const core::digest& d, std::string_view upstream, std::string_view repository,
                              const verdict_record& record) {
  return impl_->put(verdicts, codec::verdict_key(d, upstream, repository), codec::encode(record), impl_->unsynced);
}

result<std::size_t> index::remove_verdicts(const core::digest& d) {
  // The digest text has a fixed length per algorithm, so its prefix names
  // no other digest's rows.
  const auto prefix = d.str();
  rocksdb::WriteBatch batch;
  std::size_t removed = 0;
  auto ec = impl_->scan(verdicts, prefix, false, [&](std::string_view key, std::string_view, error_code&) {
    batch.Delete(impl_->cf(verdicts), slice(key));
    ++removed;
    return true;
  });
  if (ec) return ec;
  if (removed == 0) return removed;
  if (auto written = impl_->write(batch, impl_->unsynced)) return written;
  return removed;
}

}  // namespace regcache::store
