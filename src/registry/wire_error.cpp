#include "regcache/registry/wire_error.hpp"

#include "regcache/cache/errc.hpp"
#include "regcache/oci/errc.hpp"

namespace regcache::registry {

wire_error to_wire_error(const error_code& ec, std::string_view what, std::string_view upstream) {
  using oci::wire_code;
  const std::string thing(what);
  const std::string from(upstream);
  if (ec.category() == oci::make_error_code(oci::errc::name_invalid).category()) {
    switch (static_cast<oci::errc>(ec.value())) {
      case oci::errc::name_invalid:
        return {400, wire_code::name_invalid, "invalid repository name in " + thing};
      case oci::errc::tag_invalid:
        return {400, wire_code::tag_invalid,
                "invalid tag in " + thing + ": at most 128 of [A-Za-z0-9_.-], not starting with . or -"};
      case oci::errc::digest_invalid:
        return {400, wire_code::digest_invalid, "invalid digest in " + thing + ": expected sha256:<64 lowercase hex>"};
      case oci::errc::unsupported_digest:
        return {400, wire_code::digest_invalid,
                "unsupported digest algorithm in " + thing + ": regcache verifies sha256 and sha512 only"};
      case oci::errc::route_unknown:
        return {404, wire_code::unsupported, "no such endpoint: " + thing};
      default: break;
    }
  }
  if (ec.category() == cache::cache_category()) {
    switch (static_cast<cache::errc>(ec.value())) {
      case cache::errc::manifest_unknown:
        return {404, wire_code::manifest_unknown, thing + " is unknown to upstream " + from};
      case cache::errc::blob_unknown:
        return {404, wire_code::blob_unknown, thing + " is unknown to upstream " + from};
      case cache::errc::not_acceptable:
        return {404, wire_code::manifest_unknown,
                thing + " exists, but its media type is not in the request's Accept header"};
      case cache::errc::upstream_unreachable:
        return {503, wire_code::unavailable,
                thing + " is not cached and upstream " + from + " cannot be reached; retry later", 5};
      case cache::errc::upstream_failed:
        return {502, wire_code::unknown, thing + " is not cached and upstream " + from + " answered with an error"};
      case cache::errc::upstream_rate_limited:
        // containerd retries a 429 on the same host at once, five times, ignoring
        // Retry-After; a 503 sends it (and Docker, containers/image) to its next host.
        return {503, wire_code::too_many_requests,
                thing + " is not cached and upstream " + from + " is rate limiting pulls; retry later", 60};
      case cache::errc::upstream_invalid:
        return {502, wire_code::unknown, thing + ": upstream " + from + " sent a malformed answer"};
      case cache::errc::digest_mismatch:
        return {502, wire_code::digest_invalid,
                thing + ": upstream " + from + " sent content that does not match the digest; nothing was cached"};
      case cache::errc::storage_failed:
        return {500, wire_code::unknown, thing + ": the cache's storage failed; see the regcache log"};
      case cache::errc::offline:
        // Like an unreachable upstream: a runtime moves on to its next host.
        return {503, wire_code::unavailable,
                thing + " is not cached and regcache serves only from its cache (upstream " + from + " offline)"};
      case cache::errc::invalid_platform:
        return {400, wire_code::unknown, thing + ": " + ec.message()};
    }
  }
  return {500, wire_code::unknown, thing + ": " + ec.message()};
}

}  // namespace regcache::registry
