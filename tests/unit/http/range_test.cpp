#include "regcache/http/range.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <ostream>
#include <string>
#include <vector>

namespace regcache::http {

// Readable failure messages (found by gtest through ADL).
void PrintTo(const byte_range& r, std::ostream* os) { *os << r.first << "-" << r.last; }
void PrintTo(range_outcome o, std::ostream* os) {
  *os << (o == range_outcome::none ? "none" : o == range_outcome::satisfiable ? "satisfiable" : "unsatisfiable");
}

namespace {

constexpr std::uint64_t max64 = std::numeric_limits<std::uint64_t>::max();

std::vector<byte_range> satisfiable(std::string_view header, std::uint64_t size) {
  auto r = parse_range(header, size);
  EXPECT_EQ(r.outcome, range_outcome::satisfiable) << header;
  return r.ranges;
}

range_outcome outcome(std::string_view header, std::uint64_t size) {
  auto r = parse_range(header, size);
  if (r.outcome != range_outcome::satisfiable) {
    EXPECT_TRUE(r.ranges.empty()) << header;
  }
  return r.outcome;
}

TEST(parse_range, simple_forms) {
  EXPECT_EQ(satisfiable("bytes=0-0", 10), (std::vector<byte_range>{{0, 0}}));
  EXPECT_EQ(satisfiable("bytes=0-9", 10), (std::vector<byte_range>{{0, 9}}));
  EXPECT_EQ(satisfiable("bytes=2-5", 10), (std::vector<byte_range>{{2, 5}}));
  EXPECT_EQ(satisfiable("bytes=4-", 10), (std::vector<byte_range>{{4, 9}}));
  EXPECT_EQ(satisfiable("bytes=-3", 10), (std::vector<byte_range>{{7, 9}}));
  EXPECT_EQ(satisfiable("bytes=9-9", 10), (std::vector<byte_range>{{9, 9}}));
  EXPECT_EQ(satisfiable("bytes=0-", 1), (std::vector<byte_range>{{0, 0}}));
}

TEST(parse_range, clamps_to_the_size) {
  EXPECT_EQ(satisfiable("bytes=5-100", 10), (std::vector<byte_range>{{5, 9}}));
  EXPECT_EQ(satisfiable("bytes=-100", 10), (std::vector<byte_range>{{0, 9}}));
  EXPECT_EQ(satisfiable("bytes=0-18446744073709551615", 10), (std::vector<byte_range>{{0, 9}}));
}

TEST(parse_range, length) {
  EXPECT_EQ((byte_range{0, 0}).length(), 1u);
  EXPECT_EQ((byte_range{7, 9}).length(), 3u);
}

TEST(parse_range, unsatisfiable) {
  EXPECT_EQ(outcome("bytes=999-", 10), range_outcome::unsatisfiable);
  EXPECT_EQ(outcome("bytes=10-", 10), range_outcome::unsatisfiable);
  EXPECT_EQ(outcome("bytes=10-20", 10), range_outcome::unsatisfiable);
  EXPECT_EQ(outcome("bytes=-0", 10), range_outcome::unsatisfiable);
  EXPECT_EQ(outcome("bytes=-0,20-30", 10), range_outcome::unsatisfiable);
  EXPECT_EQ(outcome("bytes=99999999999999999999999999-", 10), range_outcome::unsatisfiable);
}

TEST(parse_range, ignored_headers) {
  for (const char* header :
       {"", "bytes", "bytes=", "bytes=,", "bytes= , ", "bytes=5-2", "bytes=0-1,5-2", "bytes=a-b", "bytes=1",
        "bytes=-", "bytes=--1", "bytes=1--2", "bytes=0x1-2", "bytes=+1-2", "bytes=1 -2", "bytes=1- 2", "bytes =0-1",
        "items=0-1", "bytes:0-1", "bytes=0-1;x", "0-1", "bytes=-1-2", "bytes=1-2-3", "bytes=\xff-1"}) {
    EXPECT_EQ(outcome(header, 10), range_outcome::none) << header;
  }
}

TEST(parse_range, whitespace_and_case) {
  EXPECT_EQ(satisfiable("  bytes=0-1 ", 10), (std::vector<byte_range>{{0, 1}}));
  EXPECT_EQ(satisfiable("Bytes=0-1", 10), (std::vector<byte_range>{{0, 1}}));
  EXPECT_EQ(satisfiable("BYTES= 0-1", 10), (std::vector<byte_range>{{0, 1}}));
  EXPECT_EQ(satisfiable("bytes=0-1 ,\t 3-4,,5-5 ,", 10), (std::vector<byte_range>{{0, 1}, {3, 4}, {5, 5}}));
}

TEST(parse_range, multi_ranges_keep_order_and_drop_unsatisfiable_entries) {
  EXPECT_EQ(satisfiable("bytes=5-6,0-1,-2", 10), (std::vector<byte_range>{{5, 6}, {0, 1}, {8, 9}}));
  EXPECT_EQ(satisfiable("bytes=0-1,50-60,-0,3-", 10), (std::vector<byte_range>{{0, 1}, {3, 9}}));
  EXPECT_EQ(satisfiable("bytes=0-1,0-1", 10), (std::vector<byte_range>{{0, 1}, {0, 1}}));
}

TEST(parse_range, overlaps_beyond_the_size_are_ignored) {
  EXPECT_EQ(satisfiable("bytes=0-5,3-8", 20), (std::vector<byte_range>{{0, 5}, {3, 8}}));
  EXPECT_EQ(outcome("bytes=0-,0-", 10), range_outcome::none);
  EXPECT_EQ(outcome("bytes=0-6,-5", 10), range_outcome::none);
}

TEST(parse_range, at_most_1024_ranges) {
  std::string header = "bytes=0-0";
  for (std::size_t i = 1; i < max_ranges; ++i) header += "," + std::to_string(i) + "-" + std::to_string(i);
  EXPECT_EQ(satisfiable(header, 10'000).size(), max_ranges);
  EXPECT_EQ(outcome(header + ",2000-2000", 10'000), range_outcome::none);
  // Empty elements do not count, but their bytes are still scanned linearly.
  EXPECT_EQ(satisfiable("bytes=0-0" + std::string(1'000'000, ','), 10).size(), 1u);
}

TEST(parse_range, huge_numbers_do_not_overflow) {
  EXPECT_EQ(satisfiable("bytes=0-99999999999999999999999999999", max64),
            (std::vector<byte_range>{{0, max64 - 1}}));
  EXPECT_EQ(satisfiable("bytes=-99999999999999999999999999999", max64),
            (std::vector<byte_range>{{0, max64 - 1}}));
  EXPECT_EQ(satisfiable("bytes=18446744073709551614-", max64),
            (std::vector<byte_range>{{max64 - 1, max64 - 1}}));
  EXPECT_EQ(outcome("bytes=18446744073709551615-", max64), range_outcome::unsatisfiable);
  EXPECT_EQ(outcome("bytes=18446744073709551616-18446744073709551615", max64), range_outcome::unsatisfiable);
  EXPECT_EQ(outcome("bytes=18446744073709551615-18446744073709551614", max64), range_outcome::none);
  EXPECT_EQ(outcome("bytes=0-,-1", max64), range_outcome::none);
}

TEST(parse_range, empty_representation_is_served_whole) {
  EXPECT_EQ(outcome("bytes=0-", 0), range_outcome::none);
  EXPECT_EQ(outcome("bytes=-5", 0), range_outcome::none);
}

TEST(content_range, values) {
  EXPECT_EQ(content_range({0, 0}, 10), "bytes 0-0/10");
  EXPECT_EQ(content_range({7, 9}, 10), "bytes 7-9/10");
  EXPECT_EQ(content_range({0, max64 - 1}, max64), "bytes 0-18446744073709551614/18446744073709551615");
  EXPECT_EQ(unsatisfied_content_range(10), "bytes */10");
  EXPECT_EQ(unsatisfied_content_range(0), "bytes */0");
}

}  // namespace
}  // namespace regcache::http
