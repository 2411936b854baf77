#include "regcache/core/clock.hpp"

#include <algorithm>
#include <charconv>

#ifdef REGCACHE_FAULT_INJECTION
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#endif

namespace regcache::core {
namespace {

#ifdef REGCACHE_FAULT_INJECTION
// Test builds only: REGCACHE_FAULT_CLOCK_FILE=<path> names a file holding a
// number of milliseconds added to the wall clock (missing or unreadable: 0).
// Integration tests move the whole process past a tag TTL or an LRU step by
// rewriting it instead of sleeping. The file is read on every call: test
// builds trade that for no state shared between threads.
std::chrono::milliseconds injected_clock_offset() {
  static const char* const path = std::getenv("REGCACHE_FAULT_CLOCK_FILE");
  if (!path) return {};
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char text[32] = {};
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return {};
  return std::chrono::milliseconds{std::strtoll(text, nullptr, 10)};
}
#endif

// Digits only: from_chars alone would take a sign or stop early ("-1", "0x").
bool parse_int(std::string_view s, int& out) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  return std::from_chars(s.data(), s.data() + s.size(), out).ec == std::errc{};
}

class system_clock final : public clock {
 public:
  time_point now() const noexcept override {
#ifdef REGCACHE_FAULT_INJECTION
    return std::chrono::system_clock::now() + injected_clock_offset();
#else
    return std::chrono::system_clock::now();
#endif
  }
};

}  // namespace

const clock& clock::system() {
  static const system_clock instance;
  return instance;
}

std::optional<clock::time_point> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':')
    return std::nullopt;
  int y, mo, d, h, mi, sec;
  if (!parse_int(s.substr(0, 4), y) || !parse_int(s.substr(5, 2), mo) || !parse_int(s.substr(8, 2), d) ||
      !parse_int(s.substr(11, 2), h) || !parse_int(s.substr(14, 2), mi) || !parse_int(s.substr(17, 2), sec))
    return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::size_t at = 19;
  std::chrono::nanoseconds frac{0};
  if (at < s.size() && s[at] == '.') {
    ++at;
    std::int64_t scale = 100'000'000;
    const auto start = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      frac += std::chrono::nanoseconds((s[at] - '0') * scale);
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  if (at >= s.size()) return std::nullopt;
  std::chrono::minutes offset{0};
  if (s[at] == 'Z' || s[at] == 'z') {
    ++at;
  } else if (s[at] == '+' || s[at] == '-') {
    int oh, om;
    if (s.size() - at != 6 || s[at + 3] != ':' || !parse_int(s.substr(at + 1, 2), oh) ||
        !parse_int(s.substr(at + 4, 2), om))
      return std::nullopt;
    offset = std::chrono::hours(oh) + std::chrono::minutes(om);
    if (s[at] == '-') offset = -offset;
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  // Whole seconds first: a year a time_point cannot hold (its nanoseconds
  // span about 1678 to 2262) must be refused, not overflow.
  const std::chrono::sys_seconds seconds = std::chrono::sys_days{ymd} + std::chrono::hours(h) +
                                           std::chrono::minutes(mi) + std::chrono::seconds(sec) - offset;
  constexpr auto earliest = std::chrono::ceil<std::chrono::seconds>(clock::time_point::min());
  constexpr auto latest = std::chrono::floor<std::chrono::seconds>(clock::time_point::max());
  if (seconds <= earliest || seconds >= latest) return std::nullopt;
  return clock::time_point{seconds} + std::chrono::duration_cast<clock::time_point::duration>(frac);
}

}  // namespace regcache::core
