#include "regcache/core/units.hpp"

#include "regcache/core/errc.hpp"

#include <gtest/gtest.h>

namespace regcache::core {
namespace {

using namespace std::chrono_literals;

TEST(parse_byte_size, plain_and_suffixed) {
  EXPECT_EQ(*parse_byte_size("0"), 0u);
  EXPECT_EQ(*parse_byte_size("1048576"), 1048576u);
  EXPECT_EQ(*parse_byte_size("10B"), 10u);
  EXPECT_EQ(*parse_byte_size("512KiB"), 512u * 1024);
  EXPECT_EQ(*parse_byte_size("512Ki"), 512u * 1024);
  EXPECT_EQ(*parse_byte_size("50GiB"), 50ull << 30);
  EXPECT_EQ(*parse_byte_size("2TB"), 2'000'000'000'000ull);
  EXPECT_EQ(*parse_byte_size("1.5GiB"), 3ull << 29);
  EXPECT_EQ(*parse_byte_size(" 3 MB "), 3'000'000u);
  EXPECT_EQ(*parse_byte_size("1K"), 1000u);
}

TEST(parse_byte_size, rejects_garbage_and_overflow) {
  for (const char* text : {"", "GiB", "-1", "1 XB", "1gib", "1.2.3", "1PiB", "1e3", "99999999999TiB",
                           "99999999999999999999", "..", "1 2"}) {
    auto r = parse_byte_size(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error(), errc::invalid_byte_size) << text;
  }
}

TEST(parse_percent, bounds) {
  EXPECT_DOUBLE_EQ(*parse_percent("80%"), 80.0);
  EXPECT_DOUBLE_EQ(*parse_percent(" 12.5% "), 12.5);
  EXPECT_DOUBLE_EQ(*parse_percent("100%"), 100.0);
  for (const char* text : {"", "%", "0%", "100.1%", "80", "80 %x", "-5%", "abc%"}) {
    EXPECT_FALSE(parse_percent(text)) << text;
  }
}

TEST(parse_duration, units_and_combinations) {
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("30s"), 30s);
  EXPECT_EQ(*parse_duration("30"), 30s);
  EXPECT_EQ(*parse_duration("5m"), 5min);
  EXPECT_EQ(*parse_duration("1h30m"), 90min);
  EXPECT_EQ(*parse_duration("7d"), 7 * 24h);
  EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
}

TEST(parse_duration, rejects_garbage_and_overflow) {
  for (const char* text : {"", "s", "5x", "5 m", "30 30", "-1s", "1.2.3s", "1e3s", "999999999999d", "1h30"}) {
    auto r = parse_duration(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error(), errc::invalid_duration) << text;
  }
}

TEST(format_bytes, renders_iec) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(50ull << 30), "50.0 GiB");
  EXPECT_EQ(format_bytes(5ull << 50), "5120.0 TiB");
}

}  // namespace
}  // namespace regcache::core
