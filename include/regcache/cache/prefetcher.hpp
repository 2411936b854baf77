#pragma once
// Preheating: fetch images into the cache before anyone pulls them (before a
// rollout). The top manifest is resolved like a pull would (tag_ttl and all),
// the platform manifests chosen by the filter are fetched, then every config
// and layer not yet cached goes through the fill coordinator, so a prefetch
// and a client pulling the same blob share one download. At most
// `parallelism` blobs download at once per prefetch call.
//
// Thread-safety: any thread; each call runs on the caller's executor.
#include "regcache/cache/fill_coordinator.hpp"
#include "regcache/cache/image_closure.hpp"
#include "regcache/cache/manifest_cache.hpp"
#include "regcache/cache/upstream_source.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace regcache::cache {

struct prefetch_progress {
  std::uint64_t blobs_total = 0;
  std::uint64_t blobs_done = 0;  // cached before, fetched, or failed
  std::uint64_t bytes_total = 0;
  std::uint64_t bytes_done = 0;     // of blobs_done
  std::uint64_t bytes_fetched = 0;  // downloaded by this prefetch (or a fill it joined)
};

struct prefetch_result {
  std::optional<core::digest> digest;  // the top manifest, once resolved
  std::uint64_t manifests = 0;
  prefetch_progress progress;
  // The first failure; the other blobs were still tried.
  error_code error;
  std::string failed_digest;
};

class prefetcher {
 public:
  prefetcher(context ctx, manifest_cache& manifests, fill_coordinator& fills, std::size_t parallelism)
      : ctx_(std::move(ctx)), manifests_(manifests), fills_(fills), parallelism_(parallelism ? parallelism : 1) {}

  // `reference` is a tag or a digest ("sha256:..."). on_progress runs on the
  // caller's executor after each blob (and once at the start), never concurrently.
  boost::asio::awaitable<prefetch_result> prefetch(std::shared_ptr<const upstream_source> source,
                                                   std::string repository, std::string reference,
                                                   platform_filter platforms,
                                                   std::function<void(const prefetch_progress&)> on_progress = {});

 private:
  // prefetch() without the metrics and the log line.
  boost::asio::awaitable<prefetch_result> fetch_image(std::shared_ptr<const upstream_source> source,
                                                      std::string repository, std::string reference,
                                                      platform_filter platforms,
                                                      std::function<void(const prefetch_progress&)> on_progress);

  context ctx_;
  manifest_cache& manifests_;
  fill_coordinator& fills_;
  const std::size_t parallelism_;
};

}  // namespace regcache::cache
