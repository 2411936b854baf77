#pragma once
// Small pieces of header-value parsing shared by the parsers of untrusted text.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace regcache::core {

// RFC 9110 optional whitespace: space and horizontal tab.
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// `s` without leading and trailing optional whitespace.
constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// `s` fit for a URL query value: RFC 3986 unreserved characters and the
// ':', '/' and '@' a query may carry stay; every other byte becomes %XX.
std::string percent_encode(std::string_view s);

// `s` as an unsigned decimal number: digits only, not empty, fits in 64 bits.
std::optional<std::uint64_t> parse_decimal(std::string_view s) noexcept;

}  // namespace regcache::core
