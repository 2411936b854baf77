#include "regcache/oci/errc.hpp"

#include "regcache/core/error_category.hpp"

#include <string_view>

namespace regcache::oci {
namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::name_invalid: return "invalid repository name: use lowercase components like library/alpine";
    case errc::tag_invalid: return "invalid tag: at most 128 characters of [a-zA-Z0-9._-], not starting with . or -";
    case errc::digest_invalid: return "invalid digest: expected <algorithm>:<encoded>, e.g. sha256:<64 lowercase hex>";
    case errc::unsupported_digest: return "unsupported digest algorithm: only sha256 and sha512 can be verified";
    case errc::route_unknown: return "not a registry API path: expected /v2/<name>/(manifests|blobs|tags|referrers)/...";
    case errc::manifest_invalid: return "invalid manifest: not a JSON image manifest or index with valid descriptors";
    case errc::manifest_too_large: return "manifest too large: at most 4 MiB is accepted";
    case errc::tag_list_invalid: return "invalid tag list or pagination parameter";
    case errc::repository_glob_invalid:
      return "invalid repository pattern: '/'-separated segments of a-z 0-9 . _ - and '*' (any characters within "
             "one segment), or a segment '**' alone (any number of segments)";
  }
  return "unknown oci error";
}

}  // namespace

const boost::system::error_category& oci_category() noexcept {
  static const core::enum_category<errc> instance("regcache.oci", describe);
  return instance;
}

}  // namespace regcache::oci
