#include "regcache/oci/repository_glob.hpp"

#include "regcache/oci/errc.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regcache::oci {
namespace {

repository_glob glob(std::string_view pattern) {
  auto parsed = repository_glob::parse(pattern);
  EXPECT_TRUE(parsed) << pattern;
  return *parsed;
}

struct case_t {
  const char* pattern;
  std::vector<const char*> matching;
  std::vector<const char*> not_matching;
};

TEST(repository_glob, matches_as_documented) {
  const std::vector<case_t> cases = {
      {"library/alpine", {"library/alpine"}, {"library/alpine2", "library", "library/alpine/x", "x/library/alpine"}},
      {"library/*", {"library/alpine", "library/a"}, {"library", "library/a/b", "other/alpine", "librar/x"}},
      {"*", {"alpine", "a"}, {"library/alpine", "a/b/c"}},
      {"**", {"a", "library/alpine", "a/b/c/d/e"}, {""}},
      {"library/**", {"library", "library/alpine", "library/a/b/c"}, {"librar", "libraryx/a", "x/library/a"}},
      {"**/cache", {"cache", "a/cache", "a/b/cache"}, {"cache/a", "a/cachex", "acache"}},
      {"a/**/z", {"a/z", "a/b/z", "a/b/c/z"}, {"a", "z", "a/z/b", "b/a/z"}},
      {"team-*/**", {"team-a", "team-b/app", "team-/x"}, {"team/app", "teams/app", "x/team-a"}},
      {"*-mirror/*", {"k8s-mirror/pause", "-mirror/x"}, {"k8s-mirror", "k8s-mirror/a/b", "k8s/mirror/x"}},
      {"a*b*c", {"abc", "aXbYc", "abbbc", "abcbc"}, {"ab", "acb", "aXbYcZ", "a/b/c"}},
      {"*/*", {"a/b"}, {"a", "a/b/c"}},
      {"**/**", {"a", "a/b/c"}, {""}},
      {"a/**/**/b", {"a/b", "a/x/y/b"}, {"a", "b"}},
  };
  for (const auto& c : cases) {
    const auto g = glob(c.pattern);
    EXPECT_EQ(g.text(), c.pattern);
    for (const char* name : c.matching) EXPECT_TRUE(g.matches(name)) << c.pattern << " vs " << name;
    for (const char* name : c.not_matching) EXPECT_FALSE(g.matches(name)) << c.pattern << " vs " << name;
  }
}

TEST(repository_glob, star_never_crosses_a_slash) {
  const auto g = glob("library/a*e");
  EXPECT_TRUE(g.matches("library/alpine"));
  EXPECT_FALSE(g.matches("library/a/e"));
  EXPECT_FALSE(g.matches("library/ab/ce"));
}

TEST(repository_glob, rejects_patterns_outside_the_grammar) {
  for (const char* pattern : {"", "/", "a/", "/a", "a//b", "***", "a**", "**b", "a/**b", "Library/*", "a?",
                              "a b", "a/[ab]", "a:5000/b", "a\\b", "a@b", "**/", "//"}) {
    const auto parsed = repository_glob::parse(pattern);
    ASSERT_FALSE(parsed) << pattern;
    EXPECT_EQ(parsed.error(), errc::repository_glob_invalid) << pattern;
  }
}

TEST(repository_glob, worst_case_backtracking_stays_correct) {
  const auto g = glob("**/a/**/a/**/a/b");
  std::string name = "a";
  for (int i = 0; i < 60; ++i) name += "/a";
  EXPECT_FALSE(g.matches(name));
  EXPECT_TRUE(g.matches(name + "/b"));
  const auto chars = glob("*a*a*a*b");
  EXPECT_FALSE(chars.matches(std::string(200, 'a')));
  EXPECT_TRUE(chars.matches(std::string(200, 'a') + "b"));
}

TEST(repository_glob, matches_any_is_false_for_no_globs) {
  const std::vector<repository_glob> none;
  EXPECT_FALSE(matches_any(none, "library/alpine"));
  const std::vector<repository_glob> some{glob("a/*"), glob("library/**")};
  EXPECT_TRUE(matches_any(some, "library/alpine"));
  EXPECT_TRUE(matches_any(some, "a/b"));
  EXPECT_FALSE(matches_any(some, "b/a"));
}

}  // namespace
}  // namespace regcache::oci
