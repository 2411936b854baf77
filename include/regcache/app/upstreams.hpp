#pragma once
// Turns the configured upstreams into what the pull-through layer calls:
// the caching policy (tag_ttl, max_stale, on_tag_not_found) and a registry
// client (offline, send_ns) with one connection pool per I/O thread sharing
// the upstream's connection limit and an authenticator (with the credentials
// loaded, if any).
#include "regcache/cache/upstream_source.hpp"
#include "regcache/config/config.hpp"
#include "regcache/metrics/registry.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <vector>

namespace regcache::app {

// One upstream, with a connection pool for each of `workers` (in order:
// worker i's is the i-th), counting its requests in `metrics`. Throws config::config_error naming the upstream when
// its TLS files cannot be loaded or its password cannot be read (the message
// never holds the password). Logs what it set up, and loudly what is insecure.
[[nodiscard]] std::shared_ptr<const cache::upstream_source> make_upstream_source(
    const config::upstream_config& u, const std::vector<boost::asio::any_io_executor>& workers,
    metrics::registry& metrics);

// Every upstream of the configuration, in its order.
[[nodiscard]] std::vector<std::shared_ptr<const cache::upstream_source>> make_upstream_sources(
    const config::config& cfg, const std::vector<boost::asio::any_io_executor>& workers, metrics::registry& metrics);

}  // namespace regcache::app
