#pragma once
// The OCI pull API (distribution-spec v1.1) on top of the pull-through
// caches: parses the route, picks the upstream, and answers manifests, blobs
// (with Range, also while a blob is still downloading), tag lists and
// referrers; refuses every write. Also /metrics, /healthz and /readyz.
//
// Every repository route passes the access gate (auth/gate.hpp) for the
// upstream and repository it was routed to, before the cache is asked;
// GET /v2/ is where clients log in (401 with the Basic challenge until they
// send valid credentials, when access control is on). The cache's link
// check still holds behind the gate: content is served under a repository's
// name only when the upstream confirmed that repository holds it, so an
// identity allowed one repository never gets another's content through it.
//
// Behind the access gate, the signature gate (trust/signature_gate.hpp)
// judges every manifest (by tag or digest, GET and HEAD) and blob of a
// repository its policy checks; without `verify:` rules it costs the hot
// path one bool.
//
// With the scan gate on (scan/scanner.hpp), a manifest is served only as
// the scanner's verdict allows, after the access gate; image indexes pass
// and their platform manifests are gated when fetched. A repository path
// starting with a scan pass segment (scan/pull_pass.hpp) is the scanner
// pulling the image it scans: the pass stands in for the access and scan
// gates and opens only what it covers (a manifest or blob by digest).
//
// Thread-safety: one handler serves all connections on all threads.
#include "regcache/auth/gate.hpp"
#include "regcache/cache/blob_cache.hpp"
#include "regcache/cache/discovery.hpp"
#include "regcache/cache/manifest_cache.hpp"
#include "regcache/http/exchange.hpp"
#include "regcache/http/target.hpp"
#include "regcache/metrics/registry.hpp"
#include "regcache/oci/reference.hpp"
#include "regcache/registry/router.hpp"
#include "regcache/trust/signature_gate.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <functional>
#include <string>

namespace regcache::scan {
class scanner;
}

namespace regcache::registry {

struct handler_options {
  bool metrics_enabled = true;
  std::string metrics_path = "/metrics";
  // The scan gate; null or not enabled(): manifests are served unscanned.
  scan::scanner* scanner = nullptr;
};

class handler {
 public:
  handler(handler_options options, router r, cache::manifest_cache& manifests, cache::blob_cache& blobs,
          cache::discovery& discovery, cache::cache_metrics& metrics, std::function<bool()> ready,
          auth::gate& gate, trust::signature_gate& signatures);

  boost::asio::awaitable<void> operator()(http::exchange& ex);

 private:
  boost::asio::awaitable<void> serve(http::exchange& ex);
  boost::asio::awaitable<void> serve_base(http::exchange& ex);
  // `pass`: the scan pass the request came through, or empty.
  boost::asio::awaitable<void> serve_manifest(http::exchange& ex, routed r, oci::reference reference,
                                              auth::requester who, std::string pass);
  boost::asio::awaitable<void> serve_blob(http::exchange& ex, routed r, core::digest digest);
  boost::asio::awaitable<void> serve_blob_head(http::exchange& ex, routed r, core::digest digest);
  boost::asio::awaitable<void> serve_tags(http::exchange& ex, routed r, std::string path_name, http::target target);
  boost::asio::awaitable<void> serve_referrers(http::exchange& ex, routed r, core::digest digest,
                                               http::target target);

  handler_options options_;
  // The scan gate is on: the one check the hot path pays when it is off.
  const bool scanning_;
  router router_;
  cache::manifest_cache& manifests_;
  cache::blob_cache& blobs_;
  cache::discovery& discovery_;
  cache::cache_metrics& metrics_;
  std::function<bool()> ready_;
  auth::gate& gate_;
  trust::signature_gate& signatures_;
};

}  // namespace regcache::registry
