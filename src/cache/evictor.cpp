#include "regcache/cache/evictor.hpp"

#include "regcache/cache/errc.hpp"
#include "regcache/cache/image_closure.hpp"
#include "regcache/core/units.hpp"
#include "regcache/store/errc.hpp"
#include "regcache/store/pins.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace regcache::cache {
namespace {
namespace asio = boost::asio;

using tag_key = std::tuple<std::string, std::string, std::string>;  // upstream, repository, tag

// What the pins protect in this pass: computed afresh from the manifests, so
// content fetched since the pin was set is covered too.
struct protection {
  std::unordered_set<core::digest> digests;  // manifests and blobs
  std::set<tag_key, std::less<>> tags;       // the references pins name
  std::size_t pins = 0;
};

struct blob_usage {
  std::uint64_t total = 0;
  std::uint64_t pinned = 0;
  std::unordered_map<core::digest, std::uint64_t> sizes;
};

struct victim {
  core::digest digest;
  std::int64_t last_access_ms;
  std::uint64_t size;
};

// The moments a pass compares access times with, in Unix milliseconds.
struct horizons {
  std::int64_t young_after;   // used later than this: within min_age
  std::int64_t stale_before;  // used earlier than this: past max_unused_age (INT64_MIN when off)

  bool young(std::int64_t last_access_ms) const { return last_access_ms > young_after; }
  bool stale(std::int64_t last_access_ms) const { return last_access_ms < stale_before; }
};

horizons horizons_at(std::int64_t now_ms, const eviction_policy& policy) {
  horizons h{now_ms - policy.min_age.count(), std::numeric_limits<std::int64_t>::min()};
  if (policy.max_unused_age.count() > 0) h.stale_before = now_ms - policy.max_unused_age.count();
  return h;
}

std::uint64_t share_of(std::uint64_t bytes, double fraction) {
  return static_cast<std::uint64_t>(static_cast<long double>(bytes) * fraction);
}

// Adds the image `pin` names to `out`. A pinned image whose top manifest is
// not cached (yet) protects just that digest; an index failure fails the pass,
// since evicting without knowing what is pinned could drop pinned content.
error_code protect_pinned_image(const store::index& index, const store::pin_record& pin, protection& out) {
  out.digests.insert(pin.digest);
  auto closure = closure_of(index, pin.digest, platform_filter{pin.platforms});
  if (!closure) {
    if (closure.error() == errc::manifest_unknown) return {};
    if (closure.error().category() == store::store_category()) return closure.error();
    spdlog::warn("pinned manifest {} cannot be read ({}): only it is protected", pin.digest.str(),
                 closure.error().message());
    return {};
  }
  out.digests.insert(closure->manifests.begin(), closure->manifests.end());
  out.digests.insert(closure->missing_manifests.begin(), closure->missing_manifests.end());
  for (const auto& blob : closure->blobs) out.digests.insert(blob.digest);
  return {};
}

// Lifts the pins whose expiry has come (regcache pin --for), as an unpin
// would: the row goes, and with it all the pin protected.
result<std::size_t> lift_expired(store::index& index, std::int64_t now_ms) {
  auto lifted = store::remove_pins_where(index, [now_ms](const store::pin_record& pin) { return pin.expired(now_ms); });
  if (!lifted) return lifted.error();
  for (const auto& pin : *lifted)
    spdlog::info("pin of {}/{} {} ({}{}) expired: lifted", pin.upstream, pin.repository, pin.reference,
                 pin.record.digest.str(), pin.record.label.empty() ? std::string() : ", label " + pin.record.label);
  return lifted->size();
}

result<protection> collect_pins(const store::index& index) {
  std::vector<store::pin_record> pins;
  protection out;
  auto ec = index.for_each_pin([&](std::string_view upstream, std::string_view repository,
                                   std::string_view reference, const store::pin_record& pin) {
    out.tags.emplace(upstream, repository, reference);
    pins.push_back(pin);
    return true;
  });
  if (ec) return ec;
  out.pins = pins.size();
  for (const auto& pin : pins) {
    if (auto failed = protect_pinned_image(index, pin, out)) return failed;
  }
  return out;
}

// The exact blob bytes, so that drift of the cached_bytes gauge (a commit
// racing a pass, a crash) never accumulates. Blobs flagged pinned in their row
// join the protected set.
result<blob_usage> measure_blobs(const store::index& index, protection& protect) {
  blob_usage usage;
  auto ec = index.for_each_blob([&](const core::digest& d, const store::blob_record& record) {
    usage.total += record.size;
    usage.sizes.emplace(d, record.size);
    if (record.pinned) protect.digests.insert(d);
    if (protect.digests.contains(d)) usage.pinned += record.size;
    return true;
  });
  if (ec) return ec;
  return usage;
}

// Walks the LRU order, oldest first, choosing blobs until `to_free` bytes are
// chosen and no stale blob is left. Fills the report's kept counters.
result<std::vector<victim>> choose_blobs(const store::index& index, const protection& protect,
                                         const blob_usage& usage, std::uint64_t to_free, const horizons& h,
                                         eviction_report& report) {
  std::vector<victim> chosen;
  auto ec = index.for_each_lru([&](std::int64_t last_access_ms, const core::digest& d) {
    const bool stale = h.stale(last_access_ms);
    if (to_free == 0 && !stale) return false;
    const auto size = usage.sizes.find(d);
    if (size == usage.sizes.end()) return true;  // committed after the scan: not counted, not chosen
    const bool for_quota = to_free > 0;
    if (protect.digests.contains(d)) {
      if (for_quota) report.pinned_bytes_kept += size->second;
      return true;
    }
    to_free -= std::min(to_free, size->second);
    // LRU order is access order: once one blob is young, all later ones are,
    // and they only add up what min_age keeps from the quota.
    if (!stale && h.young(last_access_ms)) {
      report.young_bytes_kept += size->second;
      return true;
    }
    chosen.push_back({d, last_access_ms, size->second});
    return true;
  });
  if (ec) return ec;
  return chosen;
}

result<std::vector<core::digest>> choose_manifests(const store::index& index, const protection& protect,
                                                   std::optional<std::int64_t> blob_horizon, const horizons& h) {
  std::vector<core::digest> chosen;
  auto ec = index.for_each_manifest([&](const core::digest& d, const store::manifest_record& record) {
    if (protect.digests.contains(d)) return true;
    // A manifest's stored access time lags its real use by up to the index's
    // write granularity: count it as used until then.
    const auto used = record.last_access_ms + store::index::manifest_access_granularity_ms;
    const bool behind_blobs = blob_horizon && used <= *blob_horizon && !h.young(used);
    if (behind_blobs || h.stale(used)) chosen.push_back(d);
    return true;
  });
  if (ec) return ec;
  return chosen;
}

// Tags naming one of `manifests`, except those a pin names.
result<std::vector<tag_key>> tags_pointing_to(const store::index& index,
                                              const std::unordered_set<core::digest>& manifests,
                                              const protection& protect) {
  std::vector<tag_key> found;
  auto ec = index.for_each_tag([&](std::string_view upstream, std::string_view repository, std::string_view tag,
                                   const store::tag_record& record) {
    if (!manifests.contains(record.digest)) return true;
    tag_key key{upstream, repository, tag};
    if (!protect.tags.contains(key)) found.push_back(std::move(key));
    return true;
  });
  if (ec) return ec;
  return found;
}

// Removes the chosen blobs; returns the newest access time among them (the
// horizon for manifests), nullopt when none went.
result<std::optional<std::int64_t>> evict_blobs(const context& ctx, const std::vector<victim>& victims,
                                                eviction_report& report) {
  std::optional<std::int64_t> newest_access;
  for (const auto& v : victims) {
    auto removed = ctx.remover->remove_blob(v.digest);
    if (!removed) return removed.error();
    if (!removed->row_size) continue;  // removed meanwhile (purge)
    if (removed->file_error)
      spdlog::warn("eviction: unlinking blob {} failed ({}): reconcile re-indexes it at the next start",
                   v.digest.str(), removed->file_error.message());
    ++report.blobs_evicted;
    report.blob_bytes_evicted += v.size;
    report.usage_after -= std::min(report.usage_after, v.size);
    ctx.metrics->blobs_evicted.inc();
    ctx.metrics->evicted_bytes.inc(v.size);
    newest_access = std::max(newest_access.value_or(v.last_access_ms), v.last_access_ms);
  }
  return newest_access;
}

error_code evict_manifests(const context& ctx, const protection& protect, std::optional<std::int64_t> blob_horizon,
                           const horizons& h, eviction_report& report) {
  auto chosen = choose_manifests(*ctx.index, protect, blob_horizon, h);
  if (!chosen) return chosen.error();
  std::unordered_set<core::digest> removed;
  for (const auto& d : *chosen) {
    auto went = ctx.remover->remove_manifest(d);
    if (!went) return went.error();
    if (!*went) continue;
    removed.insert(d);
    ++report.manifests_evicted;
    ctx.metrics->manifests_evicted.inc();
  }
  if (removed.empty()) return {};

  // A tag left pointing at an evicted manifest would only send clients to the
  // upstream for the manifest anyway; dropping it keeps the tag list honest.
  auto tags = tags_pointing_to(*ctx.index, removed, protect);
  if (!tags) return tags.error();
  for (const auto& [upstream, repository, tag] : *tags) {
    auto went = ctx.remover->remove_tag(upstream, repository, tag);
    if (!went) return went.error();
    if (*went) ++report.tags_evicted;
  }
  return {};
}

}  // namespace

evictor::evictor(context ctx, eviction_policy policy, store::disk_space_reader disk)
    : ctx_(std::move(ctx)),
      policy_(policy),
      disk_(disk ? std::move(disk) : store::filesystem_space(ctx_.blobs->root())) {
  ctx_.metrics->quota_bytes.set(static_cast<std::int64_t>(policy_.quota_bytes));
}

std::uint64_t evictor::usage() const {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, ctx_.metrics->cached_bytes.value()));
}

std::optional<eviction_report> evictor::last_report() const {
  std::lock_guard lock(report_mutex_);
  return last_;
}

void evictor::request() {
  requested_.store(true);
  std::lock_guard lock(wait_mutex_);
  if (waiting_timer_ == nullptr) return;
  // The timer belongs to run_forever's executor; the loop may have woken and
  // taken the request before this runs, so both are looked at again there
  // (a cancelled wait without a request ends the loop).
  asio::post(waiting_timer_->get_executor(), [this] {
    std::lock_guard wait_lock(wait_mutex_);
    if (waiting_timer_ != nullptr && requested_.load()) waiting_timer_->cancel();
  });
}

bool evictor::below_min_free() const {
  if (policy_.min_free_bytes == 0) return false;
  auto space = disk_();
  return space && space->available < policy_.min_free_bytes;
}

std::uint64_t evictor::to_free_for_disk(bool forced, eviction_report& report) const {
  if (policy_.min_free_bytes == 0) return 0;
  auto space = disk_();
  if (!space) {
    spdlog::warn("eviction: cannot measure the free space of {} ({}): min_free is not kept in this pass",
                 ctx_.blobs->root().string(), space.error().message());
    return 0;
  }
  report.available_before = space->available;
  report.below_min_free = space->available < policy_.min_free_bytes;
  // Beyond min_free, as much room as a quota pass frees: one pass buys room
  // for a while instead of one blob's worth.
  const auto gap =
      share_of(policy_.quota_bytes, policy_.high_watermark) - share_of(policy_.quota_bytes, policy_.low_watermark);
  const auto target = policy_.min_free_bytes + gap;
  if (!report.below_min_free && !(forced && space->available < target)) return 0;
  return target - space->available;
}

result<eviction_report> evictor::run_once(bool forced) {
  std::lock_guard lock(pass_mutex_);
  const auto started = std::chrono::steady_clock::now();
  ctx_.metrics->eviction_runs.inc();
  // LRU order must include the accesses of the last second.
  if (auto ec = ctx_.index->flush_access_times())
    spdlog::warn("eviction: flushing access times failed ({}): LRU order may lag", ec.message());

  const auto now_ms = core::to_unix_ms(ctx_.clock->now());
  auto lifted = lift_expired(*ctx_.index, now_ms);
  if (!lifted) return lifted.error();
  auto protect = collect_pins(*ctx_.index);
  if (!protect) return protect.error();
  auto blobs = measure_blobs(*ctx_.index, *protect);
  if (!blobs) return blobs.error();
  ctx_.metrics->cached_bytes.set(static_cast<std::int64_t>(blobs->total));
  ctx_.metrics->pinned_bytes.set(static_cast<std::int64_t>(blobs->pinned));
  ctx_.metrics->pins.set(static_cast<std::int64_t>(protect->pins));

  eviction_report report;
  report.pins_expired = *lifted;
  report.usage_before = blobs->total;
  report.usage_after = blobs->total;
  const auto h = horizons_at(now_ms, policy_);
  const auto low = share_of(policy_.quota_bytes, policy_.low_watermark);
  const bool over_quota = policy_.quota_bytes > 0 &&
                          (forced || blobs->total > share_of(policy_.quota_bytes, policy_.high_watermark));
  const std::uint64_t for_quota = over_quota && blobs->total > low ? blobs->total - low : 0;
  const std::uint64_t to_free = std::max(for_quota, to_free_for_disk(forced, report));

  auto chosen = choose_blobs(*ctx_.index, *protect, *blobs, to_free, h, report);
  if (!chosen) return chosen.error();
  auto blob_horizon = evict_blobs(ctx_, *chosen, report);
  if (!blob_horizon) return blob_horizon.error();
  if (auto ec = evict_manifests(ctx_, *protect, *blob_horizon, h, report)) return ec;

  const auto freed = report.usage_before - report.usage_after;
  report.reached_low_watermark = freed >= to_free;
  ctx_.metrics->eviction_shortfall_bytes.set(static_cast<std::int64_t>(to_free - std::min(to_free, freed)));
  report.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  log_pass(report);
  std::lock_guard report_lock(report_mutex_);
  last_ = report;
  return report;
}

void evictor::log_pass(const eviction_report& report) {
  if (report.blobs_evicted > 0 || report.manifests_evicted > 0) {
    const auto disk = report.below_min_free ? "; free space " + core::format_bytes(report.available_before) +
                                                  " was below min_free " + core::format_bytes(policy_.min_free_bytes)
                                            : std::string();
    spdlog::info("eviction: {} blobs ({}), {} manifests, {} tags evicted; usage {} -> {} of quota {}{}; took {} ms",
                 report.blobs_evicted, core::format_bytes(report.blob_bytes_evicted), report.manifests_evicted,
                 report.tags_evicted, core::format_bytes(report.usage_before),
                 core::format_bytes(report.usage_after),
                 policy_.quota_bytes > 0 ? core::format_bytes(policy_.quota_bytes) : std::string("none"), disk,
                 report.took.count());
  }
  // Once per episode, not at every pass that stays above.
  const bool was_reached = !last_report() || last_report()->reached_low_watermark;
  if (!report.reached_low_watermark && was_reached && report.below_min_free) {
    spdlog::warn("eviction: free space {} of {} stays below storage.min_free {}: the cache holds {}, of which {} "
                 "pinned and {} used within min_age are kept; other files fill the disk",
                 core::format_bytes(report.available_before + (report.usage_before - report.usage_after)),
                 ctx_.blobs->root().string(), core::format_bytes(policy_.min_free_bytes),
                 core::format_bytes(report.usage_after), core::format_bytes(report.pinned_bytes_kept),
                 core::format_bytes(report.young_bytes_kept));
  } else if (!report.reached_low_watermark && was_reached) {
    spdlog::warn("eviction: usage {} stays above the low watermark {}: {} pinned and {} used within min_age are "
                 "kept",
                 core::format_bytes(report.usage_after),
                 core::format_bytes(share_of(policy_.quota_bytes, policy_.low_watermark)),
                 core::format_bytes(report.pinned_bytes_kept), core::format_bytes(report.young_bytes_kept));
  }
}

result<std::size_t> evictor::lift_expired_pins() {
  std::lock_guard lock(pass_mutex_);
  auto lifted = lift_expired(*ctx_.index, core::to_unix_ms(ctx_.clock->now()));
  if (lifted && *lifted) ctx_.metrics->pins.add(-static_cast<std::int64_t>(*lifted));
  return lifted;
}

bool evictor::pass_due(bool forced, bool interval_elapsed) const {
  if (forced) return true;
  const bool pressed =
      (policy_.quota_bytes > 0 && usage() > share_of(policy_.quota_bytes, policy_.high_watermark)) ||
      below_min_free();
  // A pass that could not get under the low watermark (pins, min_age) would
  // find the same next second: over the high watermark it is retried once
  // per interval, not at every poll.
  const auto last = last_report();
  const bool last_succeeded = !last || last->reached_low_watermark;
  if (pressed && (last_succeeded || interval_elapsed)) return true;
  return interval_elapsed && policy_.max_unused_age.count() > 0;
}

asio::awaitable<void> evictor::pass_on_blocking(bool forced) {
  auto report = run_once(forced);
  if (!report) spdlog::error("eviction pass failed: {}", report.error().message());
  co_return;
}

asio::awaitable<void> evictor::lift_on_blocking() {
  auto lifted = lift_expired_pins();
  if (!lifted) spdlog::error("lifting expired pins failed: {}", lifted.error().message());
  co_return;
}

asio::awaitable<void> evictor::run_forever(std::chrono::milliseconds interval) {
  // request() and the high watermark are looked at this often.
  const auto poll = std::min<std::chrono::milliseconds>(interval, std::chrono::seconds(1));
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto next_interval = std::chrono::steady_clock::now() + interval;
  for (;;) {
    if (!requested_.load()) {
      timer.expires_after(poll);
      {
        std::lock_guard lock(wait_mutex_);
        waiting_timer_ = &timer;
      }
      auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      {
        std::lock_guard lock(wait_mutex_);
        waiting_timer_ = nullptr;
      }
      if (ec && !requested_.load()) co_return;  // cancelled, not by request(): shutting down
    }
    const auto now = std::chrono::steady_clock::now();
    const bool interval_elapsed = now >= next_interval;
    const bool forced = requested_.exchange(false);
    if (!pass_due(forced, interval_elapsed)) {
      if (!interval_elapsed) continue;
      // No pass is due, but an expired pin must not outstay its time by
      // more than an interval: `regcache ls` shows what is pinned.
      next_interval = now + interval;
      auto lift = lift_on_blocking();
      co_await asio::co_spawn(ctx_.blocking, std::move(lift), asio::use_awaitable);
      continue;
    }
    next_interval = now + interval;
    auto pass = pass_on_blocking(forced);
    co_await asio::co_spawn(ctx_.blocking, std::move(pass), asio::use_awaitable);
  }
}

}  // namespace regcache::cache
