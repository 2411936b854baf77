#include "regcache/cli/format.hpp"

#include <gtest/gtest.h>

namespace regcache::cli {
namespace {

using namespace std::chrono_literals;

TEST(format, table_aligns_columns_and_trims_trailing_blanks) {
  const auto text = render_table({{"IMAGE"}, {"SIZE", true}, {"PINNED"}},
                                 {{"docker.io/library/alpine:3.20", "3.4 MiB", "yes"}, {"a:b", "120 B", ""}});
  EXPECT_EQ(text,
            "IMAGE                             SIZE  PINNED\n"
            "docker.io/library/alpine:3.20  3.4 MiB  yes\n"
            "a:b                              120 B\n");
}

TEST(format, table_with_short_rows) { EXPECT_EQ(render_table({{"A"}, {"B"}}, {{"x"}}), "A  B\nx\n"); }

TEST(format, age) {
  const std::int64_t now = 1'700'000'000'000;
  EXPECT_EQ(format_age(now, 0), "never");
  EXPECT_EQ(format_age(now, now - 1'000), "just now");
  EXPECT_EQ(format_age(now, now + 5'000), "just now");  // clocks of two hosts
  EXPECT_EQ(format_age(now, now - 45'000), "45s ago");
  EXPECT_EQ(format_age(now, now - 3 * 60'000 - 59'000), "3m ago");
  EXPECT_EQ(format_age(now, now - 5 * 3'600'000), "5h ago");
  EXPECT_EQ(format_age(now, now - 12 * 86'400'000LL), "12d ago");
}

TEST(format, expiry) {
  const std::int64_t now = 1'700'000'000'000;
  EXPECT_EQ(format_expiry(now, 0), "never");
  EXPECT_EQ(format_expiry(now, now), "expired");
  EXPECT_EQ(format_expiry(now, now - 5'000), "expired");
  EXPECT_EQ(format_expiry(now, now + 1), "in 1s");
  EXPECT_EQ(format_expiry(now, now + 45'000), "in 45s");
  EXPECT_EQ(format_expiry(now, now + (2 * 3600 + 4 * 60) * 1000LL), "in 2h04m");
  EXPECT_EQ(format_expiry(now, now + 7 * 86'400'000LL - 3'600'000), "in 6d23h");
}

TEST(format, eta_and_rate) {
  EXPECT_EQ(format_eta(12s), "12s");
  EXPECT_EQ(format_eta(185s), "3m05s");
  EXPECT_EQ(format_eta(2h + 4min + 9s), "2h04m");
  EXPECT_EQ(format_rate(1.5 * 1024 * 1024), "1.5 MiB/s");
}

TEST(format, progress_line_with_total) {
  // 40 MiB of 100 MiB in 4 s: 10 MiB/s, 6 s left.
  const auto line = progress_line(40ull << 20, 100ull << 20, 4000ms, "alpine  3/7 blobs");
  EXPECT_EQ(line, "[#########...............]  40%  40.0 MiB / 100.0 MiB  10.0 MiB/s  ETA 6s  alpine  3/7 blobs");
}

TEST(format, progress_line_without_total_or_time) {
  EXPECT_EQ(progress_line(0, 0, 0ms, ""), "0 B");
  EXPECT_EQ(progress_line(2048, 4096, 0ms, "x"), "[############............]  50%  2.0 KiB / 4.0 KiB  x");
  EXPECT_EQ(progress_line(4096, 4096, 1000ms, ""), "[########################] 100%  4.0 KiB / 4.0 KiB  4.0 KiB/s");
}

}  // namespace
}  // namespace regcache::cli
