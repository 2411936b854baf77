#pragma once
// A token bucket: `burst` tokens at first and at most, `rate` more per
// second. HTTP/2 counts a client's frames that cost work without carrying
// a request (resets, pings, settings) with it and ends connections that
// run it dry. The clock is passed in, so tests need no sleeps.
//
// Not thread-safe: one connection's coroutine owns it.
#include <chrono>
#include <cstdint>

namespace regcache::http {

class token_bucket {
 public:
  using clock = std::chrono::steady_clock;

  token_bucket(std::uint32_t burst, std::uint32_t rate, clock::time_point now) noexcept;

  // Takes one token; false when none is left.
  [[nodiscard]] bool take(clock::time_point now) noexcept;

 private:
  double tokens_;
  double burst_;
  double rate_;
  clock::time_point refilled_;
};

}  // namespace regcache::http
