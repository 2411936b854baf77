#pragma once
// Classification of a request path into a distribution-API endpoint
// (OCI distribution-spec). Pure function, thread-safe.
//
// The repository name is only checked for safety here (no empty, "." or ".."
// segment, no '%', no control bytes, non-empty, at most max_route_name_length
// bytes), not against the name grammar: the router first strips an upstream
// host prefix ("ghcr.io/", "127.0.0.1:5000/") and validates the rest with
// is_valid_repository_name().
#include "regcache/core/result.hpp"
#include "regcache/oci/reference.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace regcache::oci {

inline constexpr std::size_t max_route_name_length = 512;

enum class route_kind { base, catalog, manifest, blob, tags_list, referrers, blob_upload };

struct route {
  route_kind kind = route_kind::base;
  std::string name;           // empty for base and catalog
  oci::reference reference;   // set for manifest (tag or digest), blob and referrers (digest)
};

// `path` is the path of the request target, without the query.
//   /v2, /v2/                          → base
//   /v2/_catalog                       → catalog
//   /v2/<name>/manifests/<reference>   → manifest
//   /v2/<name>/blobs/<digest>          → blob
//   /v2/<name>/tags/list               → tags_list
//   /v2/<name>/referrers/<digest>      → referrers
//   /v2/<name>/blobs/uploads[/...]     → blob_upload
// Names may contain '/', so the endpoint is the last such segment.
// Errors: errc::name_invalid, errc::tag_invalid, errc::digest_invalid,
// errc::unsupported_digest, errc::route_unknown.
[[nodiscard]] result<route> parse_route(std::string_view path);

}  // namespace regcache::oci
