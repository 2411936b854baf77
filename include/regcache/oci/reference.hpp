#pragma once
// Repository names, tags and the <reference> of /v2/<name>/manifests/<reference>
// (OCI distribution-spec). Pure functions, thread-safe.
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace regcache::oci {

inline constexpr std::size_t max_repository_name_length = 255;
inline constexpr std::size_t max_tag_length = 128;

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
// and at most max_repository_name_length bytes. Linear time, no recursion.
[[nodiscard]] bool is_valid_repository_name(std::string_view name) noexcept;

// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
[[nodiscard]] bool is_valid_tag(std::string_view tag) noexcept;

// A tag or a digest. `text` is the reference exactly as written; `digest` is
// set iff it is a digest.
struct reference {
  std::string text;
  std::optional<core::digest> digest;

  bool is_digest() const noexcept { return digest.has_value(); }
};

// A reference containing ':' is a digest (tags cannot contain ':'), anything
// else a tag. Errors: errc::digest_invalid, errc::unsupported_digest (valid
// grammar, algorithm other than sha256/sha512), errc::tag_invalid.
[[nodiscard]] result<reference> parse_reference(std::string_view text);

}  // namespace regcache::oci
