#include "regcache/http/errc.hpp"

#include "regcache/core/error_category.hpp"

#include <string_view>

namespace regcache::http {
namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::invalid_target:
      return "invalid request target: expected /path?query of printable ASCII, at most 8192 bytes, with valid %-escapes";
    case errc::body_too_large:
      return "request body too large";
    case errc::body_unsupported:
      return "chunked request bodies are not supported: send Content-Length";
  }
  return "unknown http error";
}

}  // namespace

const boost::system::error_category& http_category() noexcept {
  static const core::enum_category<errc> instance("regcache.http", describe);
  return instance;
}

}  // namespace regcache::http
