#include "regcache/cli/progress.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace regcache::cli {
namespace {

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  for (int c; (c = std::fgetc(f)) != EOF;) out += static_cast<char>(c);
  return out;
}

TEST(progress_reporter, plain_output_is_throttled_to_one_line_a_second_but_shows_the_last) {
  std::FILE* f = std::tmpfile();
  {
    progress_reporter p(f, false);
    p.update(1, 10, "a");
    p.update(2, 10, "b");  // within the second: dropped
    p.update(10, 10, "c", true);
  }
  const auto text = contents(f);
  std::fclose(f);
  EXPECT_NE(text.find("a\n"), std::string::npos);
  EXPECT_EQ(text.find("b\n"), std::string::npos);
  EXPECT_NE(text.find("c\n"), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST(progress_reporter, terminal_output_redraws_one_line_and_ends_it) {
  std::FILE* f = std::tmpfile();
  {
    progress_reporter p(f, true);
    p.update(1, 10, "a long detail text");
    p.update(10, 10, "short", true);
  }
  const auto text = contents(f);
  std::fclose(f);
  ASSERT_EQ(text.front(), '\r');
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  // The second line is padded over the longer first one.
  const auto second = text.substr(text.rfind('\r') + 1);
  const auto first = text.substr(1, text.rfind('\r') - 1);
  EXPECT_GE(second.size() - 1, first.size());
}

}  // namespace
}  // namespace regcache::cli
