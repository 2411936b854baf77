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
  }
  return "unknown upstream error";
}

}  // namespace

const boost::system::error_category& upstream_category() noexcept {
  static const core::enum_category<errc> instance("regcache.upstream", describe);
  return instance;
}

}  // namespace regcache::upstream
