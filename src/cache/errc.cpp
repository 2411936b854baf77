#include "regcache/cache/errc.hpp"

#include "regcache/core/error_category.hpp"

#include <string_view>

namespace regcache::cache {
namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::manifest_unknown: return "manifest unknown to the upstream registry";
    case errc::blob_unknown: return "blob unknown to the upstream registry";
    case errc::not_acceptable: return "the manifest's media type is not in the request's Accept header";
    case errc::upstream_unreachable: return "the upstream registry could not be reached";
    case errc::upstream_failed: return "the upstream registry answered with an error";
    case errc::upstream_rate_limited: return "the upstream registry is rate limiting (429)";
    case errc::upstream_invalid: return "the upstream registry sent a malformed answer";
    case errc::digest_mismatch: return "the upstream registry sent content that does not match its digest";
    case errc::storage_failed: return "local storage failed";
    case errc::offline: return "not cached, and regcache serves only from its cache (offline)";
    case errc::invalid_platform: return "a platform must be os/architecture[/variant], e.g. linux/arm64";
    case errc::upstream_unauthorized: return "the upstream registry requires credentials regcache does not have or that it refused (401)";
    case errc::upstream_denied: return "the upstream registry denies access (403)";
    case errc::upstream_rejected: return "the upstream registry rejected the request (4xx)";
    case errc::upstream_too_slow: return "the upstream registry sent the blob slower than its min_transfer_rate";
    case errc::body_stalled: return "no new byte of the downloading blob arrived within the write timeout";
  }
  return "unknown cache error";
}

}  // namespace

const boost::system::error_category& cache_category() noexcept {
  static const core::enum_category<errc> instance("regcache.cache", describe);
  return instance;
}

}  // namespace regcache::cache
