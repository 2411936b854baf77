#include "regcache/registry/wire_error.hpp"

#include "regcache/auth/errc.hpp"
#include "regcache/cache/errc.hpp"
#include "regcache/core/errc.hpp"
#include "regcache/http/errc.hpp"
#include "regcache/oci/errc.hpp"
#include "regcache/scan/errc.hpp"
#include "regcache/store/errc.hpp"
#include "regcache/trust/errc.hpp"
#include "regcache/upstream/errc.hpp"

namespace regcache::registry {
namespace {

using oci::wire_code;

// Each switch names every enumerator and has no default, so -Wswitch points
// at an enumerator added without a row here.

constexpr error_status bad_request(wire_code code) { return {400, code}; }
constexpr error_status internal{500, wire_code::unknown};
constexpr error_status bad_upstream{502, wire_code::unknown};
// containerd, Docker and containers/image move on to their next mirror on a 503.
constexpr error_status unavailable{503, wire_code::unavailable, 5};

error_status status_of(core::errc e) {
  switch (e) {
    case core::errc::invalid_digest: return bad_request(wire_code::digest_invalid);
    case core::errc::unsupported_digest: return bad_request(wire_code::digest_invalid);
    case core::errc::invalid_byte_size: return bad_request(wire_code::unknown);
    case core::errc::invalid_duration: return bad_request(wire_code::unknown);
    case core::errc::digest_mismatch: return {502, wire_code::digest_invalid};
  }
  return internal;
}

error_status status_of(oci::errc e) {
  switch (e) {
    case oci::errc::name_invalid: return bad_request(wire_code::name_invalid);
    // A reference that is neither a tag nor a digest names no manifest that
    // can exist: 404, as the distribution-spec conformance tests expect.
    case oci::errc::tag_invalid: return {404, wire_code::manifest_unknown};
    case oci::errc::digest_invalid: return bad_request(wire_code::digest_invalid);
    case oci::errc::unsupported_digest: return bad_request(wire_code::digest_invalid);
    case oci::errc::route_unknown: return {404, wire_code::unsupported};
    // Manifests only come from upstreams: one that does not parse is theirs.
    case oci::errc::manifest_invalid: return bad_upstream;
    case oci::errc::manifest_too_large: return bad_upstream;
    case oci::errc::tag_list_invalid: return bad_request(wire_code::pagination_number_invalid);
    // Patterns come from the configuration, checked at startup: never a request's fault.
    case oci::errc::repository_glob_invalid: return internal;
  }
  return internal;
}

error_status status_of(http::errc e) {
  switch (e) {
    case http::errc::invalid_target: return bad_request(wire_code::unsupported);
    case http::errc::body_too_large: return {413, wire_code::unknown};
    case http::errc::body_unsupported: return {411, wire_code::unsupported};
  }
  return internal;
}

error_status status_of(store::errc e) {
  switch (e) {
    case store::errc::not_found: return {404, wire_code::blob_unknown};
    case store::errc::io_error: return internal;
    // Eviction frees space; meanwhile a runtime fetches from its next mirror.
    case store::errc::no_space: return unavailable;
    case store::errc::digest_mismatch: return {502, wire_code::digest_invalid};
    case store::errc::size_mismatch: return bad_upstream;
    case store::errc::index_error: return internal;
    case store::errc::corrupt_record: return internal;
    case store::errc::writer_closed: return internal;
  }
  return internal;
}

error_status status_of(upstream::errc e) {
  switch (e) {
    case upstream::errc::invalid_url: return bad_upstream;  // a Location or realm the upstream sent
    case upstream::errc::connect_failed: return unavailable;
    case upstream::errc::connect_timeout: return unavailable;
    case upstream::errc::read_timeout: return unavailable;
    case upstream::errc::tls_failed: return unavailable;
    case upstream::errc::protocol_error: return bad_upstream;
    case upstream::errc::body_too_large: return bad_upstream;
    case upstream::errc::connection_closed: return unavailable;
    case upstream::errc::invalid_request: return internal;
    case upstream::errc::credentials_unavailable: return internal;
    // The registry client's typed answers; the cache turns them into its own
    // errors first, so these rows hold for callers that do not.
    case upstream::errc::offline: return {503, wire_code::unavailable};
    // The configuration excludes the repository (the egress lists): asking
    // again, or another mirror of the same regcache, would not change that.
    case upstream::errc::repository_not_allowed: return {403, wire_code::denied};
    case upstream::errc::not_found: return {404, wire_code::name_unknown};
    case upstream::errc::unauthorized: return {401, wire_code::unauthorized};
    case upstream::errc::denied: return {403, wire_code::denied};
    case upstream::errc::rate_limited: return {503, wire_code::too_many_requests, 60};
    case upstream::errc::rejected: return bad_request(wire_code::unsupported);
    case upstream::errc::server_error: return bad_upstream;
    case upstream::errc::range_not_continued: return bad_upstream;
    case upstream::errc::invalid_answer: return bad_upstream;
  }
  return internal;
}

error_status status_of(cache::errc e) {
  switch (e) {
    case cache::errc::manifest_unknown: return {404, wire_code::manifest_unknown};
    case cache::errc::blob_unknown: return {404, wire_code::blob_unknown};
    case cache::errc::not_acceptable: return {404, wire_code::manifest_unknown};
    case cache::errc::upstream_unreachable: return unavailable;
    case cache::errc::upstream_failed: return bad_upstream;
    // containerd retries a 429 on the same host at once, five times, ignoring
    // Retry-After; a 503 sends it (and Docker, containers/image) to its next host.
    case cache::errc::upstream_rate_limited: return {503, wire_code::too_many_requests, 60};
    case cache::errc::upstream_invalid: return bad_upstream;
    case cache::errc::digest_mismatch: return {502, wire_code::digest_invalid};
    case cache::errc::storage_failed: return internal;
    // Like an unreachable upstream: a runtime moves on to its next host.
    case cache::errc::offline: return {503, wire_code::unavailable};
    case cache::errc::invalid_platform: return bad_request(wire_code::unknown);
    // An upstream 4xx is its considered answer: the client gets the same
    // kind of answer, not a 5xx that invites it to retry.
    case cache::errc::upstream_unauthorized: return {401, wire_code::unauthorized};
    case cache::errc::upstream_denied: return {403, wire_code::denied};
    case cache::errc::upstream_rejected: return bad_request(wire_code::unsupported);
    // Both arise mid-body (the connection is cut); a runtime retries elsewhere.
    case cache::errc::upstream_too_slow: return unavailable;
    case cache::errc::body_stalled: return unavailable;
  }
  return internal;
}

// The access gate's answers; the handler adds the Basic challenge to its 401s.
error_status status_of(auth::errc e) {
  switch (e) {
    case auth::errc::credentials_missing: return {401, wire_code::unauthorized};
    case auth::errc::credentials_invalid: return {401, wire_code::unauthorized};
    case auth::errc::denied: return {403, wire_code::denied};
    // Not the requester's fault, and over in a moment: a client retries.
    case auth::errc::verifier_busy: return {503, wire_code::too_many_requests, 1};
  }
  return internal;
}

// The scan gate's answers (scan/scanner.hpp).
error_status status_of(scan::errc e) {
  switch (e) {
    case scan::errc::failed: return {403, wire_code::denied};
    // Not scanned yet: worth retrying once the scan is done (a runtime may
    // also try its next mirror).
    case scan::errc::not_scanned: return {503, wire_code::unavailable, 10};
    case scan::errc::pass_refused: return {403, wire_code::denied};
    // Admin API only: a verdict for a scan that does not await one.
    case scan::errc::not_awaiting: return {409, wire_code::unsupported};
    case scan::errc::webhook_failed: return bad_upstream;
  }
  return internal;
}

// The signature gate's refusals (enforce): the content exists, and policy
// refuses it, so no other mirror of the same policy will serve it either.
error_status status_of(trust::errc e) {
  switch (e) {
    case trust::errc::not_signed: return {403, wire_code::denied};
    case trust::errc::signature_invalid: return {403, wire_code::denied};
    case trust::errc::signature_other_digest: return {403, wire_code::denied};
    case trust::errc::signature_other_repository: return {403, wire_code::denied};
    case trust::errc::signature_malformed: return {403, wire_code::denied};
    // Not a verdict: the signatures could not be fetched; a runtime retries or moves on.
    case trust::errc::signatures_unavailable: return unavailable;
    case trust::errc::blob_not_verified: return {403, wire_code::denied};
    case trust::errc::signature_untrusted: return {403, wire_code::denied};
    case trust::errc::signature_unsupported: return {403, wire_code::denied};
  }
  return internal;
}

template <class Errc>
bool in_category(const error_code& ec) {
  return ec.category() == make_error_code(Errc{}).category();
}

// The message for errors a client can act on; others say what failed.
std::string message_of(const error_code& ec, const std::string& thing, const std::string& from) {
  if (ec == oci::errc::name_invalid) return "invalid repository name in " + thing;
  if (ec == oci::errc::tag_invalid)
    return thing + " names no manifest: a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with . or -, "
                   "and a digest is algorithm:hex";
  if (ec == oci::errc::digest_invalid) return "invalid digest in " + thing + ": expected sha256:<64 lowercase hex>";
  if (ec == oci::errc::unsupported_digest)
    return "unsupported digest algorithm in " + thing + ": regcache verifies sha256 and sha512 only";
  if (ec == oci::errc::route_unknown) return "no such endpoint: " + thing;
  if (ec == cache::errc::manifest_unknown || ec == cache::errc::blob_unknown)
    return thing + " is unknown to upstream " + from;
  if (ec == cache::errc::not_acceptable)
    return thing + " exists, but its media type is not in the request's Accept header";
  if (ec == cache::errc::upstream_unreachable)
    return thing + " is not cached and upstream " + from + " cannot be reached; retry later";
  if (ec == cache::errc::upstream_failed)
    return thing + " is not cached and upstream " + from + " answered with an error";
  if (ec == cache::errc::upstream_rate_limited)
    return thing + " is not cached and upstream " + from + " is rate limiting pulls; retry later";
  if (ec == cache::errc::upstream_unauthorized)
    return thing + " is not cached and upstream " + from +
           " requires credentials regcache does not have or that it refused (upstreams[].username)";
  if (ec == cache::errc::upstream_denied)
    return thing + " is not cached and upstream " + from + " denies access to it";
  if (ec == cache::errc::upstream_rejected)
    return thing + " is not cached and upstream " + from + " rejected the request";
  if (ec == cache::errc::upstream_invalid) return thing + ": upstream " + from + " sent a malformed answer";
  if (ec == cache::errc::digest_mismatch)
    return thing + ": upstream " + from + " sent content that does not match the digest; nothing was cached";
  if (ec == cache::errc::storage_failed) return thing + ": the cache's storage failed; see the regcache log";
  if (ec == cache::errc::upstream_too_slow)
    return thing + " is not cached and upstream " + from + " sends it too slowly; retry later";
  if (ec == cache::errc::body_stalled) return thing + ": its download from upstream " + from + " stalled; retry later";
  if (ec == upstream::errc::repository_not_allowed)
    return thing + ": upstream " + from +
           " is not asked for this repository, nor is its cached content served: it is outside the upstream's "
           "allow_repositories/deny_repositories in the regcache configuration";
  if (ec == cache::errc::offline)
    return thing + " is not cached and regcache serves only from its cache (upstream " + from + " offline)";
  if (ec == auth::errc::credentials_missing)
    return "authentication required to pull " + thing + ": log in (docker login, skopeo login) or send a token";
  if (ec == auth::errc::credentials_invalid)
    return "invalid credentials for " + thing + ": wrong user, password or token";
  if (ec == auth::errc::denied) return "access to " + thing + " is denied by regcache's access rules";
  if (ec == scan::errc::failed) return thing + " failed its vulnerability scan and is not served";
  if (ec == scan::errc::not_scanned)
    return thing + " is not served before its vulnerability scan passed; retry later";
  if (ec == scan::errc::pass_refused)
    return thing + " is not covered by this scan pass (it opens one image by digest, while its scan runs)";
  if (ec == auth::errc::verifier_busy)
    return thing + ": too many password checks are waiting; retry in a second";
  if (ec == trust::errc::signatures_unavailable)
    return thing + ": its signatures cannot be fetched from upstream " + from +
           " and regcache's signature policy requires one; retry later";
  if (ec.category() == trust::trust_category())
    return thing + " is refused by regcache's signature policy: " + ec.message();
  return thing + ": " + ec.message();
}

}  // namespace

error_status status_of(const error_code& ec) {
  const int value = ec.value();
  if (in_category<core::errc>(ec)) return status_of(static_cast<core::errc>(value));
  if (in_category<oci::errc>(ec)) return status_of(static_cast<oci::errc>(value));
  if (in_category<http::errc>(ec)) return status_of(static_cast<http::errc>(value));
  if (in_category<store::errc>(ec)) return status_of(static_cast<store::errc>(value));
  if (in_category<upstream::errc>(ec)) return status_of(static_cast<upstream::errc>(value));
  if (in_category<cache::errc>(ec)) return status_of(static_cast<cache::errc>(value));
  if (in_category<auth::errc>(ec)) return status_of(static_cast<auth::errc>(value));
  if (in_category<scan::errc>(ec)) return status_of(static_cast<scan::errc>(value));
  if (in_category<trust::errc>(ec)) return status_of(static_cast<trust::errc>(value));
  return internal;
}

wire_error to_wire_error(const error_code& ec, std::string_view what, std::string_view upstream) {
  const auto status = status_of(ec);
  return {status.status, status.code, message_of(ec, std::string(what), std::string(upstream)), status.retry_after};
}

}  // namespace regcache::registry
