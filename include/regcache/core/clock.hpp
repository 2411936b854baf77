#pragma once
// Time source injected wherever freshness or recency is decided (tag TTLs,
// LRU), so tests can move time without sleeping.
#include <atomic>
#include <chrono>
#include <optional>
#include <string_view>

namespace regcache::core {

class clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~clock() = default;
  virtual time_point now() const noexcept = 0;

  // The process-wide wall clock.
  static const clock& system();
};

// A clock that only moves when told to; safe to read from any thread.
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start = time_point{std::chrono::seconds{1'700'000'000}})
      : now_(start.time_since_epoch().count()) {}
  time_point now() const noexcept override {
    return time_point{time_point::duration{now_.load()}};
  }
  void advance(std::chrono::nanoseconds by) noexcept {
    now_ += std::chrono::duration_cast<time_point::duration>(by).count();
  }

 private:
  std::atomic<time_point::rep> now_;
};

// Milliseconds since the Unix epoch: the unit stored on disk.
inline std::int64_t to_unix_ms(clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline clock::time_point from_unix_ms(std::int64_t ms) noexcept {
  return clock::time_point{std::chrono::milliseconds{ms}};
}

// An RFC 3339 timestamp ("2024-01-01T00:00:00Z"; fractions and offsets
// allowed), as token endpoints and signature headers write times; nullopt
// for bad grammar or a time a clock::time_point cannot hold.
std::optional<clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace regcache::core
