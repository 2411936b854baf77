#pragma once
// Byte sizes and durations as written in the config file and on the CLI.
#include "regcache/core/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace regcache::core {

// "1048576", "512KiB", "50GiB", "2TB", "1.5GiB" (IEC and SI suffixes, B optional).
[[nodiscard]] result<std::uint64_t> parse_byte_size(std::string_view text);
// "80%" → 80.0; only whole or decimal percentages in (0, 100].
[[nodiscard]] result<double> parse_percent(std::string_view text);
// "250ms", "30s", "5m", "1h30m", "7d"; a bare number is seconds.
[[nodiscard]] result<std::chrono::milliseconds> parse_duration(std::string_view text);

// "1.5 GiB"-style rendering for logs and tables.
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

}  // namespace regcache::core
