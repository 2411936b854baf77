#pragma once
// Docker Hub's pull-quota headers: "RateLimit-Limit: 100;w=21600" and
// "RateLimit-Remaining: 76;w=21600" (pulls, and the window in seconds), as
// documented for Docker Hub and sent on manifest requests. Operators watch
// them to see a quota running out before pulls start failing with 429.
#include <cstdint>
#include <optional>
#include <string_view>

namespace regcache::upstream {

struct rate_limit_value {
  std::uint64_t count = 0;
  // The "w" parameter; absent when the header has none.
  std::optional<std::uint64_t> window_seconds;
};

// The first comma-separated element of the header: a decimal count, then
// optional ";name=value" parameters (other names are ignored). Null when the
// value is malformed or a number does not fit in 64 bits.
std::optional<rate_limit_value> parse_rate_limit(std::string_view header);

}  // namespace regcache::upstream
