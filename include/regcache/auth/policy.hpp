#pragma once
// The access rules (`access:`, `default_access:`): who may pull what.
//
// Rules are tried in order and the first that applies decides. A rule
// applies when all three match:
//   upstream      the upstream's configured name, or "*" for every upstream
//                 (an alias or ?ns= routes to the upstream's name first)
//   repositories  any of its globs matches the repository (normalized:
//                 Docker Hub's "alpine" is "library/alpine"); a glob's
//                 segments are separated by '/', "*" inside a segment matches
//                 any characters but '/', and a "**" segment matches any
//                 number of segments, none included ("team-a/**" matches
//                 "team-a" and "team-a/x/y")
//   subjects      any of its allow: (or deny:) subjects matches the requester:
//                   <identity>      that identity (htpasswd user, token
//                                   identity, client certificate name)
//                   group:<name>    a member of auth.groups.<name>
//                   *               any authenticated identity
//                   anonymous       every requester, signed in or not
// An allow: rule grants pull (manifests, blobs, tags list, referrers); a
// deny: rule refuses it. When no rule applies, default_access decides.
//
// Immutable after construction; safe from any thread.
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::auth {

// True when the repository glob matches `repository` (see above).
[[nodiscard]] bool glob_matches(std::string_view glob, std::string_view repository) noexcept;

enum class decision { allow, deny };

struct access_rule {
  std::string upstream = "*";
  std::vector<std::string> repositories;  // globs
  decision grants = decision::allow;
  std::vector<std::string> subjects;
};

struct verdict {
  decision outcome = decision::deny;
  std::optional<std::size_t> rule;  // index of the deciding rule; nullopt: default_access decided
};

class policy {
 public:
  // Everyone pulls everything: what regcache does without access control.
  policy() = default;
  policy(std::vector<access_rule> rules, std::map<std::string, std::set<std::string>> groups, decision fallback);

  // `identity` is empty for an anonymous requester.
  [[nodiscard]] verdict decide(std::string_view upstream, std::string_view repository,
                               std::string_view identity) const;

 private:
  [[nodiscard]] bool subject_matches(const std::string& subject, std::string_view identity) const;

  std::vector<access_rule> rules_;
  std::map<std::string, std::set<std::string>, std::less<>> groups_;
  decision fallback_ = decision::allow;
};

}  // namespace regcache::auth
