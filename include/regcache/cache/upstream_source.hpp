#pragma once
// One configured upstream registry, as the pull-through layer uses it.
#include "regcache/cache/errc.hpp"
#include "regcache/upstream/authenticator.hpp"
#include "regcache/upstream/client.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace regcache::cache {

struct upstream_source {
  // The registry host as clients name it ("docker.io", "ghcr.io", "127.0.0.1:5001").
  // Keys in the index (tags, links) are scoped by it.
  std::string name;
  std::vector<std::string> aliases;
  // One client (and connection pool) per I/O thread, indexed by
  // worker_index(): a request's upstream traffic stays on its own thread.
  std::vector<std::shared_ptr<upstream::client>> clients;
  std::chrono::milliseconds tag_ttl{300'000};
  // How long past tag_ttl a tag may be served when the upstream cannot
  // answer; 0 = no bound.
  std::chrono::milliseconds max_stale{0};
  // When the upstream says a cached tag is gone: serve the cached one (true)
  // or follow the upstream (false, the default).
  bool serve_cached_when_tag_not_found = false;
  // Docker Hub names without a slash live under "library/".
  bool docker_hub = false;
  // Serve only from the cache: send_upstream() fails with errc::offline
  // without connecting.
  bool offline = false;
  // The upstream is a mirror that routes by containerd's ?ns=<registry>.
  bool send_ns = false;
  // Answers the upstream's 401 challenges (Basic credentials, Bearer tokens)
  // for all of this upstream's clients. Null sends every request anonymously
  // as is (tests); main always makes one, credentials or not.
  std::shared_ptr<upstream::authenticator> auth;

  // The client of the calling thread.
  upstream::client& client() const;
};

// Which I/O thread the caller runs on; set once by each thread at start
// (threads that never set it count as 0).
void set_worker_index(std::size_t index) noexcept;
std::size_t worker_index() noexcept;

struct cache_metrics;

// Waits before trying the upstream again.
boost::asio::awaitable<void> back_off(std::chrono::milliseconds how_long);

// Every request the cache sends upstream goes through here: it is authorized
// by source.auth (scope from repository_of_target), counted by status, and a
// transport failure becomes errc::upstream_unreachable. A 401 that could not
// be answered comes back as the response. Redirects are followed (at most
// 10; Accept and Range kept, Authorization only on the upstream's own host,
// targets never remembered); a refused connection or a 500/502/503/504 is
// tried again, three attempts in all, with back-off.
boost::asio::awaitable<result<upstream::response>> send_upstream(const upstream_source& source,
                                                                 cache_metrics& metrics, upstream::request req);

// The repository of "/v2/<repo>/(manifests|blobs|tags|referrers)/<x>[?query]",
// or "" for other targets ("/v2/").
std::string repository_of_target(std::string_view target);

// The cache error for an upstream answer that is not a success.
error_code upstream_status_error(unsigned status, errc not_found);

// GET a blob's bytes from `offset` on (Range: bytes=<offset>-). Only a 206
// whose Content-Range continues exactly at `offset` to the end of the
// `size`-byte blob is accepted: anything else cannot continue what a client
// or a temp file already holds (upstream_invalid, or the status's error).
boost::asio::awaitable<result<upstream::response>> get_blob_from(const upstream_source& source,
                                                                 cache_metrics& metrics, std::string target,
                                                                 std::uint64_t offset, std::uint64_t size);

// HEAD <repository>/blobs|manifests/<reference> on the upstream.
struct upstream_head {
  unsigned status = 0;
  std::optional<std::uint64_t> content_length;
  std::string digest_header;
  std::string content_type;
};
boost::asio::awaitable<result<upstream_head>> head_upstream(const upstream_source& source, cache_metrics& metrics,
                                                            std::string target, bool want_manifest);

}  // namespace regcache::cache
