#include "regcache/upstream/errc.hpp"

#include "regcache/core/error_category.hpp"

#include <string_view>

namespace regcache::upstream {
namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::invalid_url: return "invalid upstream URL: expected http(s)://host[:port][/path] without user, query or fragment";
    case errc::connect_failed: return "cannot connect to the upstream registry (name resolution or TCP connect failed)";
    case errc::connect_timeout: return "connecting to the upstream registry timed out (connect_timeout)";
    case errc::read_timeout: return "the upstream registry did not answer in time (read_timeout)";
    case errc::tls_failed: return "TLS with the upstream registry failed: handshake or certificate verification (check ca_file)";
    case errc::protocol_error: return "the upstream registry sent malformed HTTP";
    case errc::body_too_large: return "the upstream response body exceeds the allowed size";
    case errc::connection_closed: return "the upstream registry closed the connection mid-message";
    case errc::credentials_unavailable: return "upstream credentials unavailable: the password file cannot be read or the password variable is not set";
    case errc::invalid_request: return "invalid upstream request: target must be origin-form and headers free of CR/LF";
    case errc::offline: return "the upstream registry is offline: regcache does not contact it";
    case errc::repository_not_allowed:
      return "the repository is outside the upstream's allow_repositories/deny_repositories: regcache does not "
             "contact the upstream for it";
    case errc::not_found: return "the upstream registry does not have it (404)";
    case errc::unauthorized: return "the upstream registry requires credentials regcache does not have or that it refused (401)";
    case errc::denied: return "the upstream registry denies access (403)";
    case errc::rate_limited: return "the upstream registry is rate limiting (429)";
    case errc::rejected: return "the upstream registry rejected the request (4xx)";
    case errc::server_error: return "the upstream registry answered with an error status";
    case errc::range_not_continued: return "the upstream registry did not continue the transfer at the byte asked for";
    case errc::invalid_answer: return "the upstream registry sent a malformed answer";
  }
  return "unknown upstream error";
}

}  // namespace

const boost::system::error_category& upstream_category() noexcept {
  static const core::enum_category<errc> instance("regcache.upstream", describe);
  return instance;
}

}  // namespace regcache::upstream
