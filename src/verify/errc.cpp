#include "regcache/verify/errc.hpp"

#include "regcache/core/error_category.hpp"

#include <string_view>

namespace regcache::verify {
namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::key_unreadable: return "the public key cannot be read (PEM SubjectPublicKeyInfo expected)";
    case errc::key_unsupported: return "the key type is not supported (ECDSA P-256/P-384, RSA or Ed25519)";
    case errc::payload_invalid: return "the signed payload is not simple-signing JSON";
    case errc::signature_encoding: return "the signature is not Base64";
    case errc::signature_invalid: return "no configured key verifies the signature";
    case errc::digest_not_covered: return "the signature covers another manifest digest";
    case errc::reference_mismatch: return "the signature names another repository";
  }
  return "unknown verification error";
}

}  // namespace

const boost::system::error_category& verify_category() noexcept {
  static const core::enum_category<errc> instance("regcache.verify", describe);
  return instance;
}

}  // namespace regcache::verify
