#pragma once
// Errors of the oci module: the grammar of names, tags, digests and routes,
// and the parsing of manifests and tag lists received from clients or upstreams.
#include "regcache/core/result.hpp"

#include <type_traits>

namespace regcache::oci {

enum class errc {
  name_invalid = 1,     // repository name empty, too long, or with a forbidden segment or byte
  tag_invalid,          // not [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
  digest_invalid,       // not a digest where one is required, or malformed
  unsupported_digest,   // grammar-valid digest with an algorithm regcache cannot verify
  route_unknown,        // a path that is not part of the distribution API
  manifest_invalid,     // not JSON, or fields of the wrong type, or bad descriptor digests
  manifest_too_large,   // more than max_manifest_bytes
  tag_list_invalid,     // a tags/list body or pagination parameter that does not parse
  repository_glob_invalid,  // a repository pattern of the configuration outside repository_glob's grammar
};

const boost::system::error_category& oci_category() noexcept;

inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), oci_category()}; }

}  // namespace regcache::oci

template <>
struct boost::system::is_error_code_enum<regcache::oci::errc> : std::true_type {};
