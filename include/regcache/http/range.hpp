#pragma once
// The Range request header for byte ranges (RFC 9110 §14) and the
// Content-Range values of 206 and 416 answers. Pure functions, thread-safe.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::http {

inline constexpr std::size_t max_ranges = 1024;

struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive, last >= first

  std::uint64_t length() const noexcept { return last - first + 1; }
  friend bool operator==(const byte_range&, const byte_range&) = default;
};

enum class range_outcome {
  none,           // no usable Range: answer 200 with the whole representation
  satisfiable,    // answer 206 with `ranges`
  unsatisfiable,  // answer 416 with unsatisfied_content_range()
};

struct range_request {
  range_outcome outcome = range_outcome::none;
  std::vector<byte_range> ranges;  // only for satisfiable, in request order, clamped to the size
};

// Evaluates `header_value` (the value of Range) against a representation of
// `size` bytes:
//   "bytes=a-b", "bytes=a-", "bytes=-n", comma lists with optional whitespace
//   and empty elements; the unit is case-insensitive.
// → none for a syntax error, another unit, last < first, more than
//   max_ranges ranges, overlapping ranges that add up to more than `size`
//   (RFC 9110 §14.2 lets a server ignore those; the whole body is cheaper and
//   blocks amplification), or size == 0 (the whole, empty body is the only
//   selection);
// → ranges with first >= size and suffixes of 0 are dropped, last is clamped
//   to size - 1, numbers too large for 64 bits saturate; unsatisfiable if
//   nothing is left.
// Ranges are kept in the order given, duplicates included.
[[nodiscard]] range_request parse_range(std::string_view header_value, std::uint64_t size);

// "bytes <first>-<last>/<size>"
[[nodiscard]] std::string content_range(const byte_range& range, std::uint64_t size);
// "bytes */<size>"
[[nodiscard]] std::string unsatisfied_content_range(std::uint64_t size);

}  // namespace regcache::http
