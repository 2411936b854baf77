#include "regcache/cache/forgetter.hpp"

namespace regcache::cache {

forgetter::forgetter(store::remover& remover, manifest_cache& manifests, cache_metrics& metrics)
    : manifests_(manifests), metrics_(metrics) {
  remover.add_listener(*this);
}

void forgetter::blob_removed(const core::digest&, std::uint64_t size) {
  metrics_.cached_bytes.add(-static_cast<std::int64_t>(size));
}

void forgetter::manifest_removed(const core::digest& d) { manifests_.forget_manifest(d); }

void forgetter::tag_removed(std::string_view upstream, std::string_view repository, std::string_view tag) {
  manifests_.forget_tag(upstream, repository, tag);
}

}  // namespace regcache::cache
