#pragma once
// The registry API of one upstream, as typed calls: every request regcache
// sends to an upstream registry goes through here, and nothing above this
// class builds a request target or reads a header.
//
//   get_manifest / head_manifest / get_blob / head_blob / tags / referrers
//     ─▶ repository outside the egress lists? ─▶ errc::repository_not_allowed, nothing sent
//     ─▶ offline? ─▶ errc::offline, nothing sent
//     ─▶ target "/v2/<repository>/..." (+ "ns=<name>" when send_ns)
//     ─▶ authenticator (scope repository:<repository>:pull, given, never parsed back)
//     ─▶ redirects followed (at most 10; Accept and Range kept, Authorization
//        only on the upstream's own host, targets never remembered)
//     ─▶ connection refused or 500/502/503/504: tried again, max_attempts in
//        all, with doubling back-off; nothing else is retried (a 4xx never)
//     ─▶ status checked: the expected 2xx becomes the typed answer, any other
//        status a typed error (errc::not_found, unauthorized, denied,
//        rate_limited, rejected, server_error)
//
// Every answer counts in regcache_upstream_requests_total{upstream,status},
// every attempt that got none (refused, reset, timed out) as status "error"; and
// Docker Hub's RateLimit headers set the regcache_upstream_ratelimit_* gauges.
//
// Thread-safe: the calls may run on any I/O thread at once; each uses the
// connection pool of the calling thread (set_worker_index()), or the one h2c
// connection of the upstream.
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"
#include "regcache/metrics/registry.hpp"
#include "regcache/oci/repository_glob.hpp"
#include "regcache/upstream/authenticator.hpp"
#include "regcache/upstream/client.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::upstream {

// Which I/O thread the caller runs on; set once by each thread at start
// (threads that never set it count as 0).
void set_worker_index(std::size_t index) noexcept;
std::size_t worker_index() noexcept;

// Waits before trying the upstream again (between retries and resumes).
boost::asio::awaitable<void> back_off(std::chrono::milliseconds how_long);

// The error for an upstream status the call did not ask for: 404 and 410
// not_found, 401 unauthorized, 403 denied, 429 rate_limited, another 4xx
// rejected, anything else server_error.
[[nodiscard]] error_code status_error(unsigned status) noexcept;

struct registry_options {
  // The registry host as clients name it ("docker.io"): logs, metric labels
  // and the ns= parameter.
  std::string name;
  // The upstream is a mirror that routes by containerd's ?ns=<registry>:
  // every request carries ns=<name>.
  bool send_ns = false;
  // Serve only from the cache: every call fails with errc::offline without connecting.
  bool offline = false;
  // Tries of one request in all when the connection is refused or the
  // upstream answers 500/502/503/504, and the pause before the second
  // (doubling after each).
  int max_attempts = 3;
  std::chrono::milliseconds first_retry_pause{100};
  // The egress lists (upstreams[].allow_repositories / deny_repositories): a
  // repository is asked for only when `allow_repositories` is empty or one
  // of its patterns matches, and none of `deny_repositories` does. Every
  // call for another repository fails with errc::repository_not_allowed
  // without connecting, whoever asked and whatever path led here (pulls,
  // tag lists, referrers, prefetch, revalidation).
  std::vector<oci::repository_glob> allow_repositories{};
  std::vector<oci::repository_glob> deny_repositories{};
};

// A manifest as the upstream sent it.
struct manifest_body {
  std::string bytes;
  // Content-Type without parameters; "" when the upstream sent none.
  std::string media_type;
  // Docker-Content-Digest when present and well formed.
  std::optional<core::digest> digest;
};

struct manifest_head {
  std::optional<std::uint64_t> size;
  std::string media_type;  // "" when the upstream sent none
  std::optional<core::digest> digest;
};

struct blob_head {
  std::optional<std::uint64_t> size;
};

// A blob's bytes from `offset()` to its end, read in caller-sized pieces.
// Move-only; one coroutine at a time reads it.
class blob_stream {
 public:
  explicit blob_stream(response r, std::uint64_t offset, std::optional<std::uint64_t> size)
      : response_(std::move(r)), offset_(offset), size_(size) {}
  // The first byte this stream carries.
  std::uint64_t offset() const noexcept { return offset_; }
  // The whole blob's size, when the upstream told it (always when offset > 0).
  std::optional<std::uint64_t> size() const noexcept { return size_; }
  // As response::read_some: 0 means the body is complete.
  [[nodiscard]] boost::asio::awaitable<result<std::size_t>> read_some(std::span<std::byte> buf);

 private:
  response response_;
  std::uint64_t offset_ = 0;
  std::optional<std::uint64_t> size_;
};

struct tag_page {
  std::vector<std::string> tags;  // as sent
  // Where the next page is (the upstream's Link rel="next", kept on this
  // upstream); pass it to tags() to get that page.
  std::optional<std::string> next;
};

struct referrers_body {
  std::string bytes;  // an OCI image index
  // The upstream's OCI-Filters-Applied ("artifactType" when it filtered).
  std::string filters_applied;
};

class registry_client {
 public:
  // `clients`: one per I/O thread, indexed by worker_index() (at least one;
  // an h2c upstream has a single client every thread shares).
  // `auth` answers the upstream's 401 challenges for all of them.
  registry_client(registry_options options, std::vector<std::shared_ptr<client>> clients,
                  std::shared_ptr<authenticator> auth, metrics::registry& metrics);

  const registry_options& options() const noexcept { return options_; }
  const std::string& name() const noexcept { return options_.name; }
  // Whether the egress lists let regcache ask this upstream for `repository`.
  [[nodiscard]] bool permits(std::string_view repository) const;

  // GET /v2/<repository>/manifests/<reference>, `accept` being the media
  // types the caller takes (comma-separated). The body is read whole, at most
  // oci::max_manifest_bytes (errc::body_too_large).
  [[nodiscard]] boost::asio::awaitable<result<manifest_body>> get_manifest(std::string repository,
                                                                          std::string reference, std::string accept);
  [[nodiscard]] boost::asio::awaitable<result<manifest_head>> head_manifest(std::string repository,
                                                                           std::string reference, std::string accept);

  // GET /v2/<repository>/blobs/<digest>. With offset > 0 the rest from
  // `offset` on (Range: bytes=<offset>-): only a 206 whose Content-Range
  // continues exactly at `offset` to the end of the blob is accepted, since
  // anything else cannot continue what the caller already holds
  // (errc::range_not_continued).
  [[nodiscard]] boost::asio::awaitable<result<blob_stream>> get_blob(std::string repository, core::digest digest,
                                                                    std::uint64_t offset);
  [[nodiscard]] boost::asio::awaitable<result<blob_head>> head_blob(std::string repository, core::digest digest);

  // One page of GET /v2/<repository>/tags/list: the first (`page` empty, up
  // to 1000 tags), or the one a previous tag_page::next named.
  [[nodiscard]] boost::asio::awaitable<result<tag_page>> tags(std::string repository,
                                                             std::optional<std::string> page);

  // GET /v2/<repository>/referrers/<digest>[?artifactType=<artifact_type>]
  // (`artifact_type` empty: unfiltered).
  [[nodiscard]] boost::asio::awaitable<result<referrers_body>> referrers(std::string repository,
                                                                        core::digest digest,
                                                                        std::string artifact_type);

 private:
  // Sends one request as the header describes (offline, ns=, auth, redirects,
  // retries, metrics); the answer comes back whatever its status.
  boost::asio::awaitable<result<response>> send(request req, std::string repository);
  boost::asio::awaitable<result<response>> exchange(request req, std::string repository);
  // send() whose answer must have status `expected`; any other status
  // becomes its error (the body is dropped).
  boost::asio::awaitable<result<response>> send_expecting(request req, std::string repository,
                                                          unsigned expected);
  client& client_here() const;
  void record_rate_limit(const response& r);
  metrics::counter& requests_by_status(std::string status);

  const registry_options options_;
  const std::vector<std::shared_ptr<client>> clients_;
  const std::shared_ptr<authenticator> auth_;
  metrics::registry& metrics_;
};

}  // namespace regcache::upstream
