#pragma once
// One configured upstream registry, as the pull-through layer uses it: the
// cache's policy for it (names, tag freshness, what to serve when it fails)
// and the registry client that does all the talking (upstream/registry_client.hpp).
#include "regcache/cache/errc.hpp"
#include "regcache/cache/transfer_floor.hpp"
#include "regcache/upstream/registry_client.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::cache {

struct upstream_source {
  // The registry host as clients name it ("docker.io", "ghcr.io", "127.0.0.1:5001").
  // Keys in the index (tags, links) are scoped by it.
  std::string name;
  std::vector<std::string> aliases;
  std::chrono::milliseconds tag_ttl{300'000};
  // How long past tag_ttl a tag may be served when the upstream cannot
  // answer; 0 = no bound.
  std::chrono::milliseconds max_stale{0};
  // When the upstream says a cached tag is gone: serve the cached one (true)
  // or follow the upstream (false, the default).
  bool serve_cached_when_tag_not_found = false;
  // Docker Hub names without a slash live under "library/".
  bool docker_hub = false;
  // The upstream's registry API: auth, redirects, retries, offline, ns=.
  std::shared_ptr<upstream::registry_client> registry;
  // The least progress a blob download from here must make.
  transfer_floor_policy min_transfer;
};

// The cache error for what the registry client reported: errc::not_found
// becomes `not_found` (manifest_unknown or blob_unknown, as the caller asked
// for), 401/403/429/other 4xx their upstream_* errors, offline offline, a
// 5xx upstream_failed, a malformed or unusable answer upstream_invalid, and
// every transport failure upstream_unreachable. upstream::errc::repository_not_allowed
// stays itself (registry::status_of answers it 403 DENIED).
[[nodiscard]] error_code from_upstream(const error_code& ec, errc not_found) noexcept;

// upstream::errc::repository_not_allowed when `repository` is outside the
// source's egress lists (upstreams[].allow_repositories / deny_repositories),
// else no error. Every entry point of the cache (manifests by tag and digest,
// blob GET and HEAD, tag lists, referrers) asks this first, before looking
// at what it holds: content cached before the lists excluded a repository
// is not served under its name either, so the cache is no way around them.
[[nodiscard]] error_code egress_refusal(const upstream_source& source, std::string_view repository);

}  // namespace regcache::cache
