#pragma once
// Keeps the cache under its quota, the way kubelet's image GC keeps a node's
// disk: when usage passes the high watermark, the least recently used content
// goes until usage is at the low watermark; content used within min_age stays,
// pinned images stay, and content nobody used for max_unused_age goes even
// under the quota.
//
// Usage is the bytes of committed blobs (the regcache_cached_bytes gauge);
// manifests live in RocksDB and are small. Blobs leave in the order of the lru
// column family. Manifests leave by their last_access_ms: those not used since
// the newest access time of the blobs a pass evicted (the same LRU horizon),
// and those unused for max_unused_age; pins and min_age protect them too. A
// manifest leaves with the tags that point at it. Everything leaves through
// ctx.remover (store/remover.hpp), so the forgetter drops the hot copies of
// evicted manifests and tags and lowers the cached_bytes gauge. A blob being
// read keeps its open descriptor, so a client downloading it finishes intact
// (the unlink only drops the name).
//
// A pass reads and writes RocksDB and unlinks files: run_once() blocks and
// belongs on the blocking executor. run_forever() drives passes from an I/O
// executor, running each on ctx.blocking: within a second of request() or of
// usage passing the high watermark, and every `interval` when max_unused_age
// is set. A pass that could not reach the low watermark (everything left is
// pinned or young) is retried over the high watermark once per interval, not
// every second.
//
// Pins protect, at each pass, the closure (image_closure.hpp) of every pin's
// manifest for its platforms, blobs whose row is flagged pinned, and the tags
// the pins name.
//
// Thread-safety: request(), last_report() and usage() from any thread; one
// pass at a time (run_once serialises on an internal mutex).
#include "regcache/cache/context.hpp"
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

namespace regcache::cache {

struct eviction_policy {
  // 0 = no quota: only max_unused_age evicts.
  std::uint64_t quota_bytes = 0;
  // Fractions of quota_bytes, 0 < low < high <= 1.
  double high_watermark = 0.90;
  double low_watermark = 0.80;
  // Content used more recently than this is never evicted for the quota.
  std::chrono::milliseconds min_age{std::chrono::minutes(10)};
  // Content unused for longer is evicted even under the quota; 0 = never.
  std::chrono::milliseconds max_unused_age{0};
};

struct eviction_report {
  std::uint64_t usage_before = 0;
  std::uint64_t usage_after = 0;
  std::uint64_t blobs_evicted = 0;
  std::uint64_t blob_bytes_evicted = 0;
  std::uint64_t manifests_evicted = 0;
  std::uint64_t tags_evicted = 0;
  // Content that would have gone but stayed: pinned, or younger than min_age.
  std::uint64_t pinned_bytes_kept = 0;
  std::uint64_t young_bytes_kept = 0;
  // usage_after is at or below the low watermark, or the pass had nothing to
  // free for the quota (no quota, or under the high watermark and not forced).
  bool reached_low_watermark = true;
  std::chrono::milliseconds took{0};
};

class evictor {
 public:
  // ctx.blobs, ctx.index, ctx.remover and ctx.metrics must be set. Publishes the quota
  // (regcache_quota_bytes).
  evictor(context ctx, eviction_policy policy);

  const eviction_policy& policy() const noexcept { return policy_; }

  // One pass. `forced` (regcache gc, or a full disk) evicts down to the low
  // watermark even when usage is under the high one. Updates the metrics
  // (cached bytes, evictions, evicted bytes, pinned bytes).
  [[nodiscard]] result<eviction_report> run_once(bool forced);

  // Asks run_forever() for a forced pass as soon as possible (a download hit
  // ENOSPC). Cheap; coalesces.
  void request();
  // Runs until its timer is cancelled (the io_context stops). Spawn it on an
  // I/O executor; errors of a pass are logged and the loop goes on.
  boost::asio::awaitable<void> run_forever(std::chrono::milliseconds interval);

  // Bytes in use as of the last pass or commit (cheap; from the gauge).
  std::uint64_t usage() const;
  std::optional<eviction_report> last_report() const;

 private:
  // Whether run_forever() starts a pass now; see run_forever().
  bool pass_due(bool forced, bool interval_elapsed) const;
  boost::asio::awaitable<void> pass_on_blocking(bool forced);
  void log_pass(const eviction_report& report);

  context ctx_;
  const eviction_policy policy_;
  std::mutex pass_mutex_;
  mutable std::mutex report_mutex_;
  std::optional<eviction_report> last_;
  std::atomic<bool> requested_{false};
};

}  // namespace regcache::cache
