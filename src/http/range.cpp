#include "regcache/http/range.hpp"

#include "regcache/core/text.hpp"

#include <limits>
#include <optional>

namespace regcache::http {
namespace {

constexpr std::uint64_t saturated = std::numeric_limits<std::uint64_t>::max();

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// 1*DIGIT; a value beyond 64 bits saturates: it is still "past the end" as a
// position and "everything" as a suffix length, which is what it means.
std::optional<std::uint64_t> parse_number(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (saturated - digit) / 10 ? saturated : value * 10 + digit;
  }
  return value;
}

bool starts_with_bytes_unit(std::string_view s) noexcept {
  static constexpr std::string_view unit = "bytes=";
  if (s.size() < unit.size()) return false;
  for (std::size_t i = 0; i < unit.size(); ++i) {
    const char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
    if (c != unit[i]) return false;
  }
  return true;
}

}  // namespace

range_request parse_range(std::string_view header_value, std::uint64_t size) {
  auto set = core::trim_ows(header_value);
  // Of an empty representation the only selection is all of it: a 200.
  if (size == 0 || !starts_with_bytes_unit(set)) return {};
  set.remove_prefix(6);

  range_request out;
  std::size_t specs = 0;
  while (true) {
    const auto comma = set.find(',');
    const auto spec = core::trim_ows(set.substr(0, comma));
    if (!spec.empty()) {
      if (++specs > max_ranges) return {};
      const auto dash = spec.find('-');
      if (dash == std::string_view::npos) return {};
      const auto first_text = spec.substr(0, dash);
      const auto last_text = spec.substr(dash + 1);
      if (first_text.empty()) {
        const auto suffix = parse_number(last_text);
        if (!suffix) return {};
        if (*suffix > 0) {
          const auto length = *suffix < size ? *suffix : size;
          out.ranges.push_back({size - length, size - 1});
        }
      } else {
        const auto first = parse_number(first_text);
        if (!first) return {};
        std::uint64_t last = saturated;
        if (!last_text.empty()) {
          const auto parsed = parse_number(last_text);
          if (!parsed || *parsed < *first) return {};
          last = *parsed;
        }
        if (*first < size) out.ranges.push_back({*first, last < size - 1 ? last : size - 1});
      }
    }
    if (comma == std::string_view::npos) break;
    set.remove_prefix(comma + 1);
  }
  if (specs == 0) return {};
  if (out.ranges.empty()) {
    out.outcome = range_outcome::unsatisfiable;
    return out;
  }
  std::uint64_t total = 0;
  for (const auto& r : out.ranges) {
    if (r.length() > size - total) return {};
    total += r.length();
  }
  out.outcome = range_outcome::satisfiable;
  return out;
}

std::string content_range(const byte_range& range, std::uint64_t size) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" + std::to_string(size);
}

std::string unsatisfied_content_range(std::uint64_t size) { return "bytes */" + std::to_string(size); }

}  // namespace regcache::http
