#include "regcache/core/units.hpp"

#include "regcache/core/errc.hpp"
#include "regcache/core/text.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace regcache::core {
namespace {

// Splits "12.5GiB" into 12.5 and "GiB"; fails when no number leads.
bool split_number(std::string_view text, double& number, std::string_view& unit) {
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  if (i == 0) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc{} || ptr != text.data() + i) return false;
  unit = core::trim_ows(text.substr(i));
  return true;
}

}  // namespace

result<std::uint64_t> parse_byte_size(std::string_view text) {
  text = core::trim_ows(text);
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit)) return errc::invalid_byte_size;
  static constexpr std::array<std::pair<std::string_view, double>, 18> units{{
      {"", 1.0}, {"B", 1.0},
      {"K", 1e3}, {"KB", 1e3}, {"M", 1e6}, {"MB", 1e6}, {"G", 1e9}, {"GB", 1e9}, {"T", 1e12}, {"TB", 1e12},
      {"Ki", 1024.0}, {"KiB", 1024.0}, {"Mi", 1048576.0}, {"MiB", 1048576.0},
      {"Gi", 1073741824.0}, {"GiB", 1073741824.0}, {"Ti", 1099511627776.0}, {"TiB", 1099511627776.0},
  }};
  for (const auto& [name, factor] : units) {
    if (name == unit) {
      const double bytes = number * factor;
      if (!std::isfinite(bytes) || bytes > 1.8e19) return errc::invalid_byte_size;
      return static_cast<std::uint64_t>(std::llround(bytes));
    }
  }
  return errc::invalid_byte_size;
}

result<double> parse_percent(std::string_view text) {
  text = core::trim_ows(text);
  if (text.empty() || text.back() != '%') return errc::invalid_byte_size;
  double number = 0;
  std::string_view unit;
  if (!split_number(text.substr(0, text.size() - 1), number, unit) || !unit.empty() || number <= 0 ||
      number > 100)
    return errc::invalid_byte_size;
  return number;
}

result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  text = core::trim_ows(text);
  if (text.empty()) return errc::invalid_duration;
  double total_ms = 0;
  bool first = true;
  while (!text.empty()) {
    double number = 0;
    std::size_t i = 0;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == 0) return errc::invalid_duration;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
    if (ec != std::errc{} || ptr != text.data() + i) return errc::invalid_duration;
    text.remove_prefix(i);
    std::size_t u = 0;
    while (u < text.size() && text[u] >= 'a' && text[u] <= 'z') ++u;
    const auto unit = text.substr(0, u);
    text.remove_prefix(u);
    double factor = 0;
    if (unit == "ms") factor = 1;
    else if (unit == "s" || unit.empty()) factor = 1000;
    else if (unit == "m") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else if (unit == "d") factor = 86'400'000;
    else return errc::invalid_duration;
    // A bare number is only allowed alone ("30" = 30 s), never as in "1h30".
    if (unit.empty() && (!first || !text.empty())) return errc::invalid_duration;
    first = false;
    total_ms += number * factor;
  }
  if (!std::isfinite(total_ms) || total_ms > 1e15) return errc::invalid_duration;
  return std::chrono::milliseconds{static_cast<std::int64_t>(std::llround(total_ms))};
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr std::array<std::string_view, 5> names{"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t i = 0;
  while (value >= 1024.0 && i + 1 < names.size()) {
    value /= 1024.0;
    ++i;
  }
  char buf[32];
  if (i == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", value, names[i].data());
  return buf;
}

}  // namespace regcache::core
