#include "regcache/cache/transfer_floor.hpp"

#include <gtest/gtest.h>

namespace regcache::cache {
namespace {
using namespace std::chrono_literals;

constexpr transfer_floor_policy kib_per_second_over_10s{1024, 10s};

TEST(transfer_floor, a_window_is_judged_once_it_passed) {
  const core::manual_clock clock;
  transfer_floor floor(kib_per_second_over_10s, std::nullopt, clock.now());
  EXPECT_FALSE(floor.behind(1, clock.now() + 9s)) << "the first window is not over yet";
  EXPECT_TRUE(floor.behind(1, clock.now() + 10s)) << "one byte in 10 s is below 1 KiB/s";
}

TEST(transfer_floor, each_window_must_reach_the_rate_on_its_own) {
  const core::manual_clock clock;
  const auto t0 = clock.now();
  transfer_floor floor(kib_per_second_over_10s, std::nullopt, t0);
  EXPECT_FALSE(floor.behind(100 * 1024, t0 + 10s)) << "100 KiB in the first 10 s";
  EXPECT_FALSE(floor.behind(100 * 1024 + 5, t0 + 15s));
  EXPECT_TRUE(floor.behind(100 * 1024 + 10, t0 + 20s)) << "a fast start does not pay for a trickle after it";
}

TEST(transfer_floor, a_late_check_judges_the_whole_time_since_the_window_began) {
  const core::manual_clock clock;
  const auto t0 = clock.now();
  transfer_floor floor(kib_per_second_over_10s, std::nullopt, t0);
  EXPECT_TRUE(floor.behind(15 * 1024, t0 + 30s)) << "15 KiB over 30 s";
  transfer_floor steady(kib_per_second_over_10s, std::nullopt, t0);
  EXPECT_FALSE(steady.behind(30 * 1024, t0 + 30s));
}

TEST(transfer_floor, a_known_size_sets_a_deadline) {
  const core::manual_clock clock;
  const auto t0 = clock.now();
  // 100 KiB at 1 KiB/s: 100 s (+1 s rounding) plus the 10 s window.
  transfer_floor floor(kib_per_second_over_10s, 100 * 1024, t0);
  std::uint64_t received = 0;
  auto at = t0;
  for (int i = 0; i < 110; ++i) {
    at += 1s;
    received += 1024;  // exactly the rate, never finishing
    EXPECT_FALSE(floor.behind(received, at)) << i;
  }
  EXPECT_FALSE(floor.behind(received, t0 + 111s));
  EXPECT_TRUE(floor.behind(received, t0 + 112s)) << "past size / rate + window";
}

TEST(transfer_floor, a_rate_of_zero_turns_it_off) {
  const core::manual_clock clock;
  transfer_floor floor({0, 10s}, 1 << 30, clock.now());
  EXPECT_FALSE(floor.behind(0, clock.now() + 1000h));
}

}  // namespace
}  // namespace regcache::cache
