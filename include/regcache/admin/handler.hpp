#pragma once
// The admin API: what `regcache ls|stats|pin|unpin|prefetch|purge|gc|fsck`
// talk to. Served by a second http::server on admin.listen (loopback by
// default). JSON in and out; every error is {"error": "..."} with a 4xx or
// 5xx status.
//
// With a token (admin.token_file, required beyond loopback) every request,
// whatever its path, needs `Authorization: Bearer <token>`; without it the
// answer is 401 with `WWW-Authenticate: Bearer realm="regcache-admin"` and
// nothing else is looked at. All endpoints below are operator actions or
// operator views of the cache; the probes and the metrics scrape live on
// the registry listener (server.listen), not here.
//
//   GET    /api/v1/stats          cache usage, quota, pins, last eviction, version
//   GET    /api/v1/images         every cached tag with sizes, last use, pinned
//   GET    /api/v1/repositories   the same per upstream + repository
//   GET    /api/v1/pins           every pin, with its expiry and label
//   POST   /api/v1/pins           {"image", "platforms"?, "for_ms"?, "label"?}: pins (for for_ms, under the
//                                 label), then fetches what the cache lacks of it
//   DELETE /api/v1/pins?image=…   404 when not pinned
//   DELETE /api/v1/pins?label=k=v every pin with that label; 404 when none has it
//   POST   /api/v1/prefetch       {"images", "platforms"?} → NDJSON stream of progress
//   POST   /api/v1/purge          {"image"}: removes it and what nothing else uses; 409 if pinned
//   POST   /api/v1/gc             a forced eviction pass → its report
//   POST   /api/v1/verify         {"dry_run"?} → NDJSON stream of fsck progress, then the report
//   POST   /api/v1/scan           {"image"}: scans it now (an index: its cached platform manifests) and
//                                 answers the verdicts; 409 when scan is not configured
//   POST   /api/v1/scans/<digest> {"verdict", "summary"?, "report"?}: a scan webhook's later verdict
//                                 (after its 202); 409 when no webhook scan awaits one for the digest
//
// Index scans, purge, gc and verify run on the blocking executor. A prefetch
// or verify outlives its client: if the client goes away the image being
// prefetched (or the verification) runs to its end; later images are not
// started.
//
// Thread-safety: one handler serves all admin connections on all threads.
#include "regcache/admin/bearer_token.hpp"
#include "regcache/cache/context.hpp"
#include "regcache/cache/evictor.hpp"
#include "regcache/cache/manifest_cache.hpp"
#include "regcache/cache/prefetcher.hpp"
#include "regcache/core/clock.hpp"
#include "regcache/http/exchange.hpp"
#include "regcache/registry/router.hpp"
#include "regcache/store/index.hpp"
#include "regcache/store/remover.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace regcache::scan {
class scanner;
}

namespace regcache::admin {

// Everything the admin API acts on; all owned by serve() in main.cpp and
// outliving the admin server.
struct services {
  store::index& index;
  // Purge and verify remove through it, so the cache forgets what they removed.
  store::remover& remover;
  // The same routing as the registry API, so "alpine" means here what it
  // means to a client pulling through regcache.
  const registry::router& router;
  cache::manifest_cache& manifests;
  cache::evictor& evictor;
  cache::prefetcher& prefetcher;
  // fills_in_flight is reported by stats.
  cache::cache_metrics& metrics;
  // Where index scans, purge, gc and fsck run (they block).
  boost::asio::any_io_executor blocking;
  const core::clock& clock;
  std::string version;
  // The token every request must present; null: no authentication (loopback only).
  std::shared_ptr<bearer_token> token = nullptr;
  // The scan gate; null when scan is not configured.
  scan::scanner* scanner = nullptr;
};

class handler {
 public:
  explicit handler(services s);

  boost::asio::awaitable<void> operator()(http::exchange& ex);

 private:
  boost::asio::awaitable<void> serve(http::exchange& ex);
  boost::asio::awaitable<void> stats(http::exchange& ex);
  boost::asio::awaitable<void> images(http::exchange& ex, bool by_repository);
  boost::asio::awaitable<void> list_pins(http::exchange& ex);
  boost::asio::awaitable<void> pin(http::exchange& ex);
  boost::asio::awaitable<void> unpin(http::exchange& ex, std::string image);
  boost::asio::awaitable<void> unpin_label(http::exchange& ex, std::string label);
  boost::asio::awaitable<void> prefetch(http::exchange& ex);
  boost::asio::awaitable<void> purge(http::exchange& ex);
  boost::asio::awaitable<void> gc(http::exchange& ex);
  boost::asio::awaitable<void> verify(http::exchange& ex);
  boost::asio::awaitable<void> scan_image(http::exchange& ex);
  boost::asio::awaitable<void> scan_verdict(http::exchange& ex, std::string digest);

  services s_;
  // One verification at a time: two would race to remove the same files.
  std::shared_ptr<std::atomic<bool>> verifying_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace regcache::admin
