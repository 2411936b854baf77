#pragma once
// Errors of signature verification: why a key could not be used, or why a
// manifest's signature does not hold.
#include "regcache/core/result.hpp"

#include <type_traits>

namespace regcache::verify {

enum class errc {
  key_unreadable = 1,   // the key file cannot be read, or holds no PEM public key
  key_unsupported,      // a key type or curve cosign keys do not use
  payload_invalid,      // the signed payload is not simple-signing JSON
  signature_encoding,   // the signature annotation is not Base64
  signature_invalid,    // no configured key verifies the signature over the payload
  digest_not_covered,   // the payload names another manifest digest
  reference_mismatch,   // the payload names another repository
};

const boost::system::error_category& verify_category() noexcept;
inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), verify_category()}; }

}  // namespace regcache::verify

template <>
struct boost::system::is_error_code_enum<regcache::verify::errc> : std::true_type {};
