#include "regcache/core/errc.hpp"

#include "regcache/core/error_category.hpp"

#include <string_view>

namespace regcache::core {
namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::invalid_digest: return "invalid digest: expected <algorithm>:<encoded>, e.g. sha256:<64 lowercase hex>";
    case errc::unsupported_digest: return "unsupported digest algorithm: only sha256 and sha512 can be verified";
    case errc::invalid_byte_size: return "invalid byte size: use a number with an optional unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)";
    case errc::invalid_duration: return "invalid duration: use e.g. 250ms, 30s, 5m, 1h30m, 7d";
    case errc::digest_mismatch: return "content does not match its digest";
  }
  return "unknown core error";
}

}  // namespace

const boost::system::error_category& core_category() noexcept {
  static const core::enum_category<errc> instance("regcache.core", describe);
  return instance;
}

}  // namespace regcache::core
