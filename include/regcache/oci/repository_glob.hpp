#pragma once
// Repository-name patterns, as configuration writes them: the egress lists
// of an upstream (upstreams[].allow_repositories / deny_repositories) and the
// repositories of access rules. One matcher, so that every list that names
// repositories reads the same way.
//
//   pattern   = segment *( "/" segment )
//   segment   = "**"                      any number of whole segments, none included
//             | 1*( name-char | "*" )     "*" = any run of characters within one segment
//   name-char = a-z 0-9 . _ -             (what repository names are made of)
//
//   "library/*"   library/alpine, not library or library/a/b
//   "library/**"  library, library/alpine, library/a/b
//   "**"          every repository
//   "*"           every one-segment name (alpine), not library/alpine
//   "team-*/**"   team-a, team-b/app, not team/app
//   "**/cache"    cache, a/cache, a/b/cache
//
// Patterns match the repository name as regcache sends it upstream: a Docker
// Hub official image is "library/alpine" (clients may write "alpine").
// "*" never crosses a "/". Case matters: names are lowercase, so is a valid
// pattern. Matching is O(pattern × name) at worst, without recursion.
// Immutable after parse(): safe to share between threads.
#include "regcache/core/result.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::oci {

class repository_glob {
 public:
  // Errors: errc::repository_glob_invalid (empty, an empty segment such as
  // "a//b" or "a/", "**" next to other characters in its segment, or a
  // character outside name-char and "*").
  [[nodiscard]] static result<repository_glob> parse(std::string_view pattern);

  // Whether `repository` matches the pattern, segment by segment. Callers
  // pass valid repository names (is_valid_repository_name); "" never matches.
  [[nodiscard]] bool matches(std::string_view repository) const;

  // The pattern as written.
  const std::string& text() const noexcept { return text_; }

 private:
  explicit repository_glob(std::string text);
  std::string text_;
  std::vector<std::string> segments_;  // text_ split at '/'
};

// Whether any of `globs` matches `repository` (none: false).
[[nodiscard]] bool matches_any(std::span<const repository_glob> globs, std::string_view repository);

}  // namespace regcache::oci
