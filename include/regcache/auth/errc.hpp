#pragma once
// Errors of the access gate: who is asking and what they may pull.
// registry::status_of() turns them into 401 (with the Basic challenge),
// 403 or 503 responses.
#include "regcache/core/result.hpp"

#include <type_traits>

namespace regcache::auth {

enum class errc {
  credentials_missing = 1,  // no credentials, and anonymous may not pull this
  credentials_invalid,      // a wrong user, password or token, or an Authorization scheme other than Basic or Bearer
  denied,                   // the identity is known and the access rules do not let it pull this
  verifier_busy,            // too many password checks are already waiting
};

const boost::system::error_category& auth_category() noexcept;
inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), auth_category()}; }

}  // namespace regcache::auth

template <>
struct boost::system::is_error_code_enum<regcache::auth::errc> : std::true_type {};
