#pragma once
// The request-target of an HTTP request, split into path and query
// (RFC 9112 §3.2.1 origin-form). Pure functions, thread-safe.
#include "regcache/core/result.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regcache::http {

inline constexpr std::size_t max_target_length = 8192;

struct target {
  std::string path;  // raw, still %-encoded
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order, repeats kept

  // The value of the first `key` parameter; views into this target.
  [[nodiscard]] std::optional<std::string_view> query_value(std::string_view key) const;
  // The values of every `key` parameter, in order; views into this target.
  [[nodiscard]] std::vector<std::string_view> query_values(std::string_view key) const;
};

// "/v2/x/manifests/y?ns=ghcr.io&n=10" → path "/v2/x/manifests/y", query
// [("ns","ghcr.io"), ("n","10")]. Must start with '/', be at most
// max_target_length bytes of printable ASCII without '#'. Query parameters are
// split on '&' (empty ones skipped) and the first '='; keys and values are
// %-decoded with '+' meaning space.
// Errors: errc::invalid_target (also for a '%' not followed by two hex digits).
[[nodiscard]] result<target> parse_target(std::string_view request_target);

}  // namespace regcache::http
