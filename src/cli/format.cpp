#include "regcache/cli/format.hpp"

#include "regcache/core/units.hpp"

#include <algorithm>
#include <cstdio>

namespace regcache::cli {

std::string render_table(const std::vector<column>& columns, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& c : columns) widths.push_back(c.title.size());
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());

  std::string out;
  const auto emit = [&](const auto& cell_of) {
    std::string line;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const std::string_view cell = cell_of(i);
      const std::string pad(widths[i] - std::min(widths[i], cell.size()), ' ');
      if (i) line += "  ";
      line += columns[i].right_aligned ? pad + std::string(cell) : std::string(cell) + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit([&](std::size_t i) -> std::string_view { return columns[i].title; });
  for (const auto& row : rows)
    emit([&](std::size_t i) -> std::string_view {
      return i < row.size() ? std::string_view(row[i]) : std::string_view();
    });
  return out;
}

std::string format_age(std::int64_t now_ms, std::int64_t then_ms) {
  if (then_ms <= 0) return "never";
  const auto seconds = std::max<std::int64_t>(0, (now_ms - then_ms) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return std::to_string(seconds) + "s ago";
  if (seconds < 3600) return std::to_string(seconds / 60) + "m ago";
  if (seconds < 86400) return std::to_string(seconds / 3600) + "h ago";
  return std::to_string(seconds / 86400) + "d ago";
}

std::string format_eta(std::chrono::seconds left) {
  const auto s = std::max<std::int64_t>(0, left.count());
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  return buf;
}

std::string format_expiry(std::int64_t now_ms, std::int64_t expires_at_ms) {
  if (expires_at_ms == 0) return "never";
  if (expires_at_ms <= now_ms) return "expired";
  // Rounded up: a pin shown "in 1s" has not expired yet.
  const auto seconds = (expires_at_ms - now_ms + 999) / 1000;
  if (seconds < 86400) return "in " + format_eta(std::chrono::seconds(seconds));
  char buf[40];
  std::snprintf(buf, sizeof buf, "in %lldd%02lldh", static_cast<long long>(seconds / 86400),
                static_cast<long long>(seconds % 86400 / 3600));
  return buf;
}

std::string format_rate(double bytes_per_second) {
  return core::format_bytes(static_cast<std::uint64_t>(std::max(0.0, bytes_per_second))) + "/s";
}

std::string progress_line(std::uint64_t done, std::uint64_t total, std::chrono::milliseconds elapsed,
                          std::string_view detail) {
  constexpr std::size_t bar_width = 24;
  std::string line;
  if (total > 0) {
    const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    const auto filled = static_cast<std::size_t>(fraction * bar_width);
    char percent[8];
    std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(fraction * 100));
    line += "[" + std::string(filled, '#') + std::string(bar_width - filled, '.') + "] " + percent + "  ";
    line += core::format_bytes(done) + " / " + core::format_bytes(total);
  } else {
    line += core::format_bytes(done);
  }
  if (elapsed.count() > 0 && done > 0) {
    const double rate = static_cast<double>(done) * 1000.0 / static_cast<double>(elapsed.count());
    line += "  " + format_rate(rate);
    if (total > done)
      line += "  ETA " + format_eta(std::chrono::seconds(static_cast<std::int64_t>((total - done) / rate)));
  }
  if (!detail.empty()) line += "  " + std::string(detail);
  return line;
}

}  // namespace regcache::cli
