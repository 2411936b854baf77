#pragma once
// Errors of the http module.
#include "regcache/core/result.hpp"

#include <type_traits>

namespace regcache::http {

enum class errc {
  invalid_target = 1,  // request-target not in origin form, too long, or with a malformed %-escape
  body_too_large,      // a request body longer than the handler accepts
  body_unsupported,    // a chunked request body (only Content-Length bodies are read)
};

const boost::system::error_category& http_category() noexcept;

inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), http_category()}; }

}  // namespace regcache::http

template <>
struct boost::system::is_error_code_enum<regcache::http::errc> : std::true_type {};
