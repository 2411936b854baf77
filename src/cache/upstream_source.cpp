#include "regcache/cache/upstream_source.hpp"

namespace regcache::cache {

error_code from_upstream(const error_code& ec, errc not_found) noexcept {
  if (ec.category() != upstream::upstream_category()) return ec;
  switch (static_cast<upstream::errc>(ec.value())) {
    case upstream::errc::not_found: return not_found;
    case upstream::errc::unauthorized: return errc::upstream_unauthorized;
    case upstream::errc::denied: return errc::upstream_denied;
    case upstream::errc::rate_limited: return errc::upstream_rate_limited;
    case upstream::errc::rejected: return errc::upstream_rejected;
    case upstream::errc::offline: return errc::offline;
    case upstream::errc::repository_not_allowed: return ec;
    case upstream::errc::server_error: return errc::upstream_failed;
    case upstream::errc::range_not_continued:
    case upstream::errc::invalid_answer:
    case upstream::errc::body_too_large: return errc::upstream_invalid;
    default: return errc::upstream_unreachable;
  }
}

error_code egress_refusal(const upstream_source& source, std::string_view repository) {
  if (source.registry->permits(repository)) return {};
  return upstream::errc::repository_not_allowed;
}

}  // namespace regcache::cache
