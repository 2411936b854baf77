#include "regcache/cache/transfer_floor.hpp"

namespace regcache::cache {

transfer_floor::transfer_floor(transfer_floor_policy policy, std::optional<std::uint64_t> size,
                               core::clock::time_point start)
    : policy_(policy), window_start_(start) {
  if (policy_.bytes_per_second > 0 && size) {
    const auto seconds = *size / policy_.bytes_per_second + 1;
    deadline_ = start + std::chrono::seconds(seconds) + policy_.window;
  }
}

bool transfer_floor::behind(std::uint64_t received, core::clock::time_point now) {
  if (policy_.bytes_per_second == 0) return false;
  if (deadline_ && now > *deadline_) return true;
  const auto elapsed = now - window_start_;
  if (elapsed < policy_.window) return false;
  // A window judged late (a read that took long) is judged over all of its time.
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  const auto needed = static_cast<long double>(policy_.bytes_per_second) * elapsed_ms / 1000;
  if (static_cast<long double>(received - window_start_bytes_) < needed) return true;
  window_start_ = now;
  window_start_bytes_ = received;
  return false;
}

}  // namespace regcache::cache
