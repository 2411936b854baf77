#pragma once
// Text for people: aligned tables, "3m ago", rates, ETAs and the progress
// line of `regcache prefetch` and `regcache fsck`. Pure functions.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::cli {

struct column {
  std::string title;
  bool right_aligned = false;  // numbers and sizes
};

// Columns separated by two spaces, padded to their widest cell, no trailing
// blanks; one line per row, each ending in '\n'.
[[nodiscard]] std::string render_table(const std::vector<column>& columns,
                                       const std::vector<std::vector<std::string>>& rows);

// "just now", "45s ago", "3m ago", "5h ago", "12d ago"; "never" for 0.
[[nodiscard]] std::string format_age(std::int64_t now_ms, std::int64_t then_ms);
// "12s", "3m05s", "2h04m".
[[nodiscard]] std::string format_eta(std::chrono::seconds left);
// When a pin expires: "never" for 0, "expired" once passed, else "in 45s",
// "in 2h04m", "in 6d23h".
[[nodiscard]] std::string format_expiry(std::int64_t now_ms, std::int64_t expires_at_ms);
// "12.5 MiB/s".
[[nodiscard]] std::string format_rate(double bytes_per_second);

// "[########............]  40%  1.2 GiB / 3.0 GiB  45.1 MiB/s  ETA 41s  <detail>"
// Without a total (0) the bar and percentage are left out; without a rate
// (elapsed 0 or nothing done) rate and ETA.
[[nodiscard]] std::string progress_line(std::uint64_t done, std::uint64_t total, std::chrono::milliseconds elapsed,
                                        std::string_view detail);

}  // namespace regcache::cli
