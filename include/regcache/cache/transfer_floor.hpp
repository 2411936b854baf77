#pragma once
// The least progress a download from an upstream must make. A peer that
// trickles a byte every few seconds passes every per-read timeout, yet would
// hold a fill (and every client waiting on it) forever; the floor ends it:
//
//   - in every window (measured from the start, each one beginning where the
//     last ended), on average at least bytes_per_second must arrive;
//   - with a known size, the whole transfer must end by
//     start + size / bytes_per_second + window (the window is the allowance
//     for connecting, authorizing and resuming).
//
// Time comes from a core::clock, so tests move it instead of sleeping.
// Not thread-safe: one floor per transfer, checked by its one coroutine.
#include "regcache/core/clock.hpp"

#include <chrono>
#include <cstdint>
#include <optional>

namespace regcache::cache {

struct transfer_floor_policy {
  // 0 turns the floor off (no window check, no deadline).
  std::uint64_t bytes_per_second = 64 * 1024;
  std::chrono::milliseconds window{30'000};
};

class transfer_floor {
 public:
  transfer_floor(transfer_floor_policy policy, std::optional<std::uint64_t> size, core::clock::time_point start);

  // Whether the transfer, `received` bytes in all at `now`, fell below the
  // floor. Call it after each read; a window is judged once it has passed.
  [[nodiscard]] bool behind(std::uint64_t received, core::clock::time_point now);

 private:
  transfer_floor_policy policy_;
  std::optional<core::clock::time_point> deadline_;
  core::clock::time_point window_start_;
  std::uint64_t window_start_bytes_ = 0;
};

}  // namespace regcache::cache
