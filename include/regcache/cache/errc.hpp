#pragma once
// Errors of the pull-through layer. registry::wire_error() is the one place
// that turns them into OCI error responses.
#include "regcache/core/result.hpp"

#include <type_traits>

namespace regcache::cache {

enum class errc {
  manifest_unknown = 1,   // the upstream says the tag or digest does not exist
  blob_unknown,           // the upstream says the blob does not exist in that repository
  not_acceptable,         // the cached manifest's media type is not in the client's Accept
  upstream_unreachable,   // connect/TLS/timeout failure talking to the upstream
  upstream_failed,        // the upstream answered with a 5xx or another status it should not have
  upstream_rate_limited,  // the upstream answered 429
  upstream_invalid,       // the upstream's answer was malformed (bad digest header, bad JSON)
  digest_mismatch,        // upstream bytes did not hash to the requested digest
  storage_failed,         // local disk or index failure
  offline,                // not cached, and the upstream is not asked (offline-only mode)
  invalid_platform,       // a platform filter entry is not os/arch[/variant]
  upstream_unauthorized,  // the upstream answered 401 and the configured credentials could not satisfy it
  upstream_denied,        // the upstream answered 403
  upstream_rejected,      // the upstream answered another 4xx (400, 405, ...)
  upstream_too_slow,      // a download fell below its upstream's transfer floor (transfer_floor.hpp)
  body_stalled,           // no new byte of a downloading blob became servable for a reader's stall limit
};

const boost::system::error_category& cache_category() noexcept;
inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), cache_category()}; }

}  // namespace regcache::cache

template <>
struct boost::system::is_error_code_enum<regcache::cache::errc> : std::true_type {};
