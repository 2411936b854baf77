// parse_range on arbitrary headers and sizes. The first 8 bytes (if any) are
// the representation size; small sizes are favoured so ranges hit the edges.
#include "regcache/http/range.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

using namespace regcache::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  std::uint64_t representation = 0;
  std::memcpy(&representation, data, 8);
  if (representation & 1) representation >>= 40;
  const std::string_view header(reinterpret_cast<const char*>(data + 8), size - 8);

  const auto r = parse_range(header, representation);
  if (r.outcome != range_outcome::satisfiable) {
    if (!r.ranges.empty()) std::abort();
    if (r.outcome == range_outcome::unsatisfiable && representation == 0) std::abort();
    return 0;
  }
  if (r.ranges.empty() || r.ranges.size() > max_ranges) std::abort();
  std::uint64_t total = 0;
  for (const auto& range : r.ranges) {
    if (range.first > range.last || range.last >= representation) std::abort();
    if (range.length() > representation - total) std::abort();
    total += range.length();
    if (content_range(range, representation).empty()) std::abort();
  }
  return 0;
}
