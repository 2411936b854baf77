#pragma once
// What every part of the pull-through layer shares: the store, the index,
// the metrics, the clock, and where blocking disk work (fsync) and the
// hashing of downloads run.
#include "regcache/core/clock.hpp"
#include "regcache/metrics/registry.hpp"
#include "regcache/store/blob_store.hpp"
#include "regcache/store/index.hpp"
#include "regcache/store/remover.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>

namespace regcache::cache {

// Hot-path counters, looked up once.
struct cache_metrics {
  explicit cache_metrics(metrics::registry& r);
  metrics::registry& registry;
  metrics::counter& hits;
  metrics::counter& misses;
  metrics::counter& stale;
  metrics::counter& bytes_from_cache;
  metrics::counter& bytes_from_upstream;
  metrics::counter& upstream_bytes;
  metrics::counter& digest_mismatches;
  metrics::gauge& fills_in_flight;
  metrics::gauge& cached_bytes;
  // Eviction (evictor.hpp).
  metrics::counter& blobs_evicted;
  metrics::counter& manifests_evicted;
  metrics::counter& evicted_bytes;
  metrics::counter& eviction_runs;
  metrics::gauge& quota_bytes;
  metrics::gauge& pinned_bytes;
  metrics::gauge& pins;
  // Bytes the last pass still had to free when it ended (pins, min_age), 0
  // once it reached its target.
  metrics::gauge& eviction_shortfall_bytes;
};

struct context {
  std::shared_ptr<store::blob_store> blobs;
  store::index* index = nullptr;
  cache_metrics* metrics = nullptr;
  const core::clock* clock = &core::clock::system();
  // Executor for work that may block a thread for a while (fsync, rename).
  boost::asio::any_io_executor blocking;
  // The one way content leaves the store (remover.hpp); whoever removes
  // (evictor, blob_cache) goes through it so the forgetter hears of it.
  store::remover* remover = nullptr;
  // Where a download's bytes are written and hashed while its next bytes
  // arrive (fill_coordinator.hpp); without one, on the download's own thread.
  boost::asio::any_io_executor hashing{};
};

}  // namespace regcache::cache
