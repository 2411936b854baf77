#include "regcache/verify/errc.hpp"

#include "regcache/core/error_category.hpp"

#include <string_view>

namespace regcache::verify {
namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::key_unreadable: return "the public key cannot be read (PEM SubjectPublicKeyInfo expected)";
    case errc::key_unsupported: return "the key type is not supported (ECDSA P-256/P-384, RSA or Ed25519)";
    case errc::payload_invalid: return "the signed payload is not simple-signing JSON or a Notary Project payload";
    case errc::signature_encoding: return "the signature is not Base64";
    case errc::signature_invalid: return "no configured key (or the signing certificate's key) verifies the signature";
    case errc::digest_not_covered: return "the signature covers another manifest digest";
    case errc::reference_mismatch: return "the signature names another repository";
    case errc::envelope_unsupported: return "the signature envelope is not JWS (application/jose+json); COSE is not supported";
    case errc::envelope_invalid: return "the signature envelope is not flattened JWS JSON with the Notary Project headers";
    case errc::algorithm_unsupported:
      return "the signature algorithm is not ES256/ES384/ES512/PS256/PS384/PS512 matching the signing certificate's key";
    case errc::scheme_unsupported:
      return "the signature needs a signing scheme, payload type or critical header not supported (notary.x509 only)";
    case errc::certificate_invalid: return "the certificate chain is not ordered leaf to root or a certificate is unfit for code signing";
    case errc::certificate_untrusted: return "the certificate chain does not lead to the trust store";
    case errc::certificate_expired: return "a certificate of the chain is not valid at the signing time or now";
    case errc::signature_expired: return "the signature has expired (io.cncf.notary.expiry)";
    case errc::target_mismatch: return "the signature names the manifest digest with another size or media type";
    case errc::trust_store_unreadable: return "the trust store cannot be read (PEM certificates expected)";
  }
  return "unknown verification error";
}

}  // namespace

const boost::system::error_category& verify_category() noexcept {
  static const core::enum_category<errc> instance("regcache.verify", describe);
  return instance;
}

}  // namespace regcache::verify
