#pragma once
// Keeps the cache under its quota, the way kubelet's image GC keeps a node's
// disk: when usage passes the high watermark, the least recently used content
// goes until usage is at the low watermark; content used within min_age stays,
// pinned images stay, and content nobody used for max_unused_age goes even
// under the quota.
//
// It also keeps the filesystem's free space above min_free (kubelet's
// imagefs.available threshold), whatever else fills the disk: when free space
// is below it, blobs go in the same order, with the same protections, until
// it is back at min_free plus the quota's watermark gap
// ((high_watermark − low_watermark) × quota, the room a quota pass frees).
// So a quota given as a share of the disk cannot fill a disk others use too.
// Eviction frees only what the cache holds: when other files take the room,
// free space may stay below min_free (blob_store then refuses downloads).
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
// executor, running each on ctx.blocking: at once after request() (a refused
// download is waiting for room), within a second of usage passing the high
// watermark or free space falling below min_free, and
// every `interval` when max_unused_age is set. A pass that could not reach
// its target (everything left is pinned or young) is retried once per
// interval, not every second.
//
// Pins protect, at each pass, the closure (image_closure.hpp) of every pin's
// manifest for its platforms, blobs whose row is flagged pinned, and the tags
// the pins name. A pin whose expiry has come (store::pin_record::expired) is
// lifted first, its row removed as an unpin does, so the same pass may evict
// what it held; run_forever() also lifts expired pins every `interval` when
// no pass is due.
//
// Thread-safety: request(), last_report() and usage() from any thread; one
// pass at a time (run_once serialises on an internal mutex).
#include "regcache/cache/context.hpp"
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"
#include "regcache/store/disk_space.hpp"

#include <boost/asio/steady_timer.hpp>

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
  // Free space to keep on the filesystem (storage.min_free); 0 = off.
  std::uint64_t min_free_bytes = 0;
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
  // Pins whose expiry had come, lifted at the start of the pass.
  std::uint64_t pins_expired = 0;
  // Free space when the pass began (0 when min_free is off or it could not be
  // measured), and whether it was below min_free.
  std::uint64_t available_before = 0;
  bool below_min_free = false;
  // The pass freed all it set out to: usage_after is at or below the low
  // watermark and free space back at its target, or there was nothing to
  // free (no quota, or under the high watermark and min_free, and not forced).
  bool reached_low_watermark = true;
  std::chrono::milliseconds took{0};
};

class evictor {
 public:
  // ctx.blobs, ctx.index, ctx.remover and ctx.metrics must be set. Publishes the quota
  // (regcache_quota_bytes). `disk` reads the free space min_free is kept on;
  // empty means statvfs of ctx.blobs->root().
  evictor(context ctx, eviction_policy policy, store::disk_space_reader disk = {});

  const eviction_policy& policy() const noexcept { return policy_; }

  // One pass. `forced` (regcache gc, or a full disk) evicts down to the low
  // watermark even when usage is under the high one. Updates the metrics
  // (cached bytes, evictions, evicted bytes, pinned bytes).
  [[nodiscard]] result<eviction_report> run_once(bool forced);

  // Removes the pins whose expiry has come; how many. Blocking, like a pass
  // (and serialised with passes).
  [[nodiscard]] result<std::size_t> lift_expired_pins();

  // Asks run_forever() for a forced pass now (a download hit ENOSPC or
  // min_free): wakes its timer. Cheap; coalesces.
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
  // Free space is below min_free (false when off or not measurable).
  bool below_min_free() const;
  // Bytes to free so that free space reaches min_free plus the watermark gap;
  // 0 when not needed. Fills the report's disk fields.
  std::uint64_t to_free_for_disk(bool forced, eviction_report& report) const;
  boost::asio::awaitable<void> pass_on_blocking(bool forced);
  boost::asio::awaitable<void> lift_on_blocking();
  void log_pass(const eviction_report& report);

  context ctx_;
  const eviction_policy policy_;
  const store::disk_space_reader disk_;
  std::mutex pass_mutex_;
  mutable std::mutex report_mutex_;
  std::optional<eviction_report> last_;
  std::atomic<bool> requested_{false};
  // The timer run_forever() waits on, while it waits; request() cancels it on
  // its executor to end the wait early.
  std::mutex wait_mutex_;
  boost::asio::steady_timer* waiting_timer_ = nullptr;
};

}  // namespace regcache::cache
