#pragma once
// What the cache forgets when content leaves the store. Registered with the
// store's remover (store/remover.hpp), through which eviction, purge, fsck,
// reconcile and blob_cache's lookup all remove, it keeps the cache's copies
// and counts true whoever removed:
//
//   blob row removed      regcache_cached_bytes lowered by its size
//   manifest row removed  manifest_cache drops its in-memory copy
//   tag row removed       manifest_cache drops its in-memory tag
//
// Thread-safety: called on whichever thread removes; both targets are
// thread-safe. Must outlive every removal made through the remover it is
// registered with (build it before, destroy it after, whatever evicts).
#include "regcache/cache/context.hpp"
#include "regcache/cache/manifest_cache.hpp"
#include "regcache/store/remover.hpp"

namespace regcache::cache {

class forgetter : public store::removal_listener {
 public:
  // Registers itself with `remover`.
  forgetter(store::remover& remover, manifest_cache& manifests, cache_metrics& metrics);
  forgetter(const forgetter&) = delete;
  forgetter& operator=(const forgetter&) = delete;

  void blob_removed(const core::digest& d, std::uint64_t size) override;
  void manifest_removed(const core::digest& d) override;
  void tag_removed(std::string_view upstream, std::string_view repository, std::string_view tag) override;

 private:
  manifest_cache& manifests_;
  cache_metrics& metrics_;
};

}  // namespace regcache::cache
