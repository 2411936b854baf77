#pragma once
// The one mapping from internal errors to what a client sees on the wire,
// shared by the registry API and the admin API.
//
// status_of() is the table: every enumerator of every module's errc (core,
// oci, http, store, upstream, cache, auth, scan, trust) has its HTTP status and OCI error code
// there, in one place. The rules it follows:
//   - the request is wrong (a name, digest, target or parameter that
//     does not parse)                                      → 400 and the OCI code naming it
//   - the thing does not exist upstream, or cannot exist
//     (a manifest reference that is no tag or digest)     → 404 *_UNKNOWN
//   - the upstream cannot be reached, is rate limiting, or
//     regcache is offline or out of disk space: a runtime
//     should try its next mirror or come back later       → 503 UNAVAILABLE / TOOMANYREQUESTS, Retry-After
//   - regcache's access rules refuse the requester: no or
//     wrong credentials, or an identity the rules do not
//     let pull the repository                             → 401 UNAUTHORIZED (the handler adds
//                                                           the Basic challenge), 403 DENIED
//   - regcache's scan gate refuses the manifest (failed its
//     scan), or a scan pass does not cover the request    → 403 DENIED; not scanned yet
//                                                           (block_until_scanned) → 503 UNAVAILABLE,
//                                                           Retry-After
//   - the upstream refused the request (401, 403, another
//     4xx): not retried, and not regcache's failure       → the same 4xx: UNAUTHORIZED,
//                                                           DENIED, or 400 UNSUPPORTED
//   - regcache's signature policy refuses the content
//     (enforce: unsigned, badly signed, a blob of no
//     manifest that passed)                               → 403 DENIED; 503 UNAVAILABLE when the
//                                                           signatures cannot be fetched now
//   - the upstream answered wrongly (a 5xx, malformed
//     or mismatching content)                             → 502
//   - regcache itself failed (disk, index, configuration)  → 500 UNKNOWN
// Errors of other categories (the system's, Asio's) are 500 UNKNOWN.
#include "regcache/core/result.hpp"
#include "regcache/oci/error_body.hpp"

#include <string>
#include <string_view>

namespace regcache::registry {

struct error_status {
  unsigned status = 500;
  oci::wire_code code = oci::wire_code::unknown;
  // Seconds for Retry-After, 0 for none.
  unsigned retry_after = 0;

  bool operator==(const error_status&) const = default;
};

[[nodiscard]] error_status status_of(const error_code& ec);

struct wire_error {
  unsigned status = 500;
  oci::wire_code code = oci::wire_code::unknown;
  std::string message;
  // Seconds for Retry-After, 0 for none.
  unsigned retry_after = 0;
};

// status_of(ec) with a message for the client. `what` names the thing asked
// for ("manifest library/alpine:3.20"), `upstream` the registry it came from.
[[nodiscard]] wire_error to_wire_error(const error_code& ec, std::string_view what, std::string_view upstream);

}  // namespace regcache::registry
