#pragma once
// RFC 7235 WWW-Authenticate parsing: every challenge of every header value,
// in order. Tolerant of what registries send: several challenges per value,
// quoted strings with escapes and commas, token values, case-insensitive
// scheme and parameter names. Bounded (max_challenges, max_header_bytes,
// max_params); on garbage it returns whatever parsed cleanly before it and
// never fails or reads out of bounds. Pure functions, any thread.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regcache::upstream {

struct challenge {
  std::string scheme;  // lowercased ("bearer", "basic")
  // auth-params in order, names lowercased, values unquoted and unescaped.
  std::vector<std::pair<std::string, std::string>> params;
  // A token68 credential form instead of params ("Negotiate abc=="), else empty.
  std::string token68;

  // The value of the first parameter of that (case-insensitive) name.
  std::optional<std::string_view> param(std::string_view name) const;
};

inline constexpr std::size_t max_challenges = 64;
inline constexpr std::size_t max_header_bytes = 8 * 1024;  // longer header values are skipped whole
inline constexpr std::size_t max_params = 32;              // per challenge; later ones are dropped

std::vector<challenge> parse_challenges(std::span<const std::string_view> header_values);

}  // namespace regcache::upstream
