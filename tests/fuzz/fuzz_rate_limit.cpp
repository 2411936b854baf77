// parse_rate_limit on arbitrary RateLimit-Limit / RateLimit-Remaining values:
// no crash, and an accepted value names a count that is really in the input.
#include "regcache/upstream/rate_limit.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = regcache::upstream::parse_rate_limit(text);
  if (parsed && text.find(std::to_string(parsed->count)) == std::string_view::npos) std::abort();
  return 0;
}
