#include "regcache/auth/errc.hpp"

#include "regcache/core/error_category.hpp"

#include <string_view>

namespace regcache::auth {
namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::credentials_missing: return "authentication required";
    case errc::credentials_invalid: return "the credentials are not valid";
    case errc::denied: return "access to the repository is denied";
    case errc::verifier_busy: return "too many password checks are waiting; retry shortly";
  }
  return "unknown auth error";
}

}  // namespace

const boost::system::error_category& auth_category() noexcept {
  static const core::enum_category<errc> instance("regcache.auth", describe);
  return instance;
}

}  // namespace regcache::auth
