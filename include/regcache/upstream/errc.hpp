#pragma once
// Errors of the upstream module: reaching a registry and speaking HTTP/1.1 to
// it (client), and what the registry answered when it was not what the call
// asked for (registry_client). client::send returns statuses (404, 429, 5xx)
// as responses; registry_client turns them into the errors from offline on.
#include "regcache/core/result.hpp"

#include <type_traits>

namespace regcache::upstream {

enum class errc {
  invalid_url = 1,    // not http(s)://host[:port][/path], or with userinfo, query or fragment
  connect_failed,     // name resolution or TCP connect failed (refused, unreachable, unknown host)
  connect_timeout,    // resolve + connect + TLS handshake took longer than connect_timeout
  read_timeout,       // one read or write took longer than read_timeout
  tls_failed,         // TLS handshake or certificate verification failed
  protocol_error,     // the upstream sent something that is not valid HTTP/1.1 (or a header over 64 KiB)
  body_too_large,     // read_all: the body is larger than the caller's limit
  connection_closed,  // the upstream closed or reset the connection before the message was complete
  invalid_request,    // the request itself is malformed: target not origin-form, CR/LF in a header, empty buffer
  credentials_unavailable,  // the configured password file cannot be read or the password variable is not set
  offline,              // the upstream is configured offline: nothing was sent
  repository_not_allowed,  // the repository is outside the upstream's egress lists: nothing was sent
  not_found,            // 404 or 410: the repository, manifest or blob does not exist upstream
  unauthorized,         // 401 that the configured credentials could not answer
  denied,               // 403: the upstream refuses these credentials access
  rate_limited,         // 429
  rejected,             // another 4xx: the upstream refuses the request as made
  server_error,         // a 5xx (after the retries), or a status the call does not expect
  range_not_continued,  // a resumed GET was not answered from exactly the offset asked for
  invalid_answer,       // a body that does not parse (a tag list that is not one)
};

const boost::system::error_category& upstream_category() noexcept;

inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), upstream_category()}; }

}  // namespace regcache::upstream

template <>
struct boost::system::is_error_code_enum<regcache::upstream::errc> : std::true_type {};
