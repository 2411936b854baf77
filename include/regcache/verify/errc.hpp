#pragma once
// Errors of signature verification: why a key or trust store could not be
// used, or why a manifest's signature does not hold.
#include "regcache/core/result.hpp"

#include <type_traits>

namespace regcache::verify {

enum class errc {
  key_unreadable = 1,      // the key file cannot be read, or holds no PEM public key
  key_unsupported,         // a key type or curve cosign keys do not use
  payload_invalid,         // the signed payload is not simple-signing JSON / a Notary Project payload
  signature_encoding,      // the signature annotation is not Base64
  signature_invalid,       // no configured key (notation: the leaf's key) verifies the signature
  digest_not_covered,      // the payload names another manifest digest
  reference_mismatch,      // the payload names another repository
  envelope_unsupported,    // a notation envelope other than JWS (COSE is refused)
  envelope_invalid,        // not a flattened JWS JSON envelope with the Notary Project headers
  algorithm_unsupported,   // alg not ES256/384/512 or PS256/384/512, or not the signing certificate's
  scheme_unsupported,      // a signing scheme, payload type or critical header not processed here
  certificate_invalid,     // x5c not ordered leaf to root, or a certificate unfit for code signing
  certificate_untrusted,   // the chain does not lead to a certificate of the trust store
  certificate_expired,     // a certificate is outside its validity at the signing time or now
  signature_expired,       // the signer's io.cncf.notary.expiry has passed
  target_mismatch,         // the payload names the digest with another size or media type
  trust_store_unreadable,  // the trust store file cannot be read or holds no PEM certificate
};

const boost::system::error_category& verify_category() noexcept;
inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), verify_category()}; }

}  // namespace regcache::verify

template <>
struct boost::system::is_error_code_enum<regcache::verify::errc> : std::true_type {};
