#include "regcache/cache/context.hpp"

namespace regcache::cache {

cache_metrics::cache_metrics(metrics::registry& r)
    : registry(r),
      hits(r.get_counter("regcache_cache_requests_total", "Manifest and blob lookups by cache outcome",
                         {{"outcome", "hit"}})),
      misses(r.get_counter("regcache_cache_requests_total", "Manifest and blob lookups by cache outcome",
                           {{"outcome", "miss"}})),
      stale(r.get_counter("regcache_cache_requests_total", "Manifest and blob lookups by cache outcome",
                          {{"outcome", "stale"}})),
      bytes_from_cache(r.get_counter("regcache_served_bytes_total", "Body bytes sent to clients, by source",
                                     {{"source", "cache"}})),
      bytes_from_upstream(r.get_counter("regcache_served_bytes_total", "Body bytes sent to clients, by source",
                                        {{"source", "upstream"}})),
      upstream_bytes(r.get_counter("regcache_upstream_bytes_total", "Blob bytes downloaded from upstreams")),
      digest_mismatches(r.get_counter("regcache_digest_mismatches_total",
                                      "Upstream transfers whose bytes did not match the digest (nothing cached)")),
      fills_in_flight(r.get_gauge("regcache_fills_in_flight", "Blob downloads from upstreams in progress")),
      cached_bytes(r.get_gauge("regcache_cached_bytes", "Bytes of committed blobs in the cache")),
      blobs_evicted(r.get_counter("regcache_evictions_total", "Blobs and manifests removed by eviction, by kind",
                                  {{"kind", "blob"}})),
      manifests_evicted(r.get_counter("regcache_evictions_total", "Blobs and manifests removed by eviction, by kind",
                                      {{"kind", "manifest"}})),
      evicted_bytes(r.get_counter("regcache_evicted_bytes_total", "Blob bytes removed by eviction")),
      eviction_runs(r.get_counter("regcache_eviction_runs_total", "Eviction passes run")),
      quota_bytes(r.get_gauge("regcache_quota_bytes", "Bytes of blobs the cache may hold (0: no quota)")),
      pinned_bytes(r.get_gauge("regcache_pinned_bytes", "Bytes of cached blobs protected by pins, as of the last "
                                                        "eviction pass")),
      pins(r.get_gauge("regcache_pins", "Pinned images, as of the last eviction pass")),
      eviction_shortfall_bytes(r.get_gauge("regcache_eviction_shortfall_bytes",
                                           "Bytes the last eviction pass could not free to reach its target (low "
                                           "watermark, min_free): pinned or used within min_age; 0 when reached")) {}

}  // namespace regcache::cache
