#include "regcache/trust/errc.hpp"

#include "regcache/core/error_category.hpp"

#include <string_view>

namespace regcache::trust {
namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::not_signed: return "no signature found";
    case errc::signature_invalid: return "no configured key verifies its signatures";
    case errc::signature_other_digest: return "its signature covers another manifest digest";
    case errc::signature_other_repository: return "its signature names another repository";
    case errc::signature_malformed: return "its signature artifact is malformed";
    case errc::signatures_unavailable: return "its signatures cannot be fetched from the upstream now";
    case errc::blob_not_verified: return "no manifest that passed the signature policy references it";
    case errc::signature_untrusted:
      return "its Notary Project signature's certificate chain does not lead to the trust store or is not valid now";
    case errc::signature_unsupported:
      return "its Notary Project signature is of a kind not verified here (COSE envelope, signing authority or plugin)";
  }
  return "unknown signature gate error";
}

}  // namespace

const boost::system::error_category& trust_category() noexcept {
  static const core::enum_category<errc> instance("regcache.trust", describe);
  return instance;
}

}  // namespace regcache::trust
