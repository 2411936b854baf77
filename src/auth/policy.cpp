#include "regcache/auth/policy.hpp"

#include <algorithm>

namespace regcache::auth {
namespace {

// `*` matches any run of characters within one segment.
bool segment_matches(std::string_view pattern, std::string_view segment) noexcept {
  const auto star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == segment;
  const auto head = pattern.substr(0, star);
  if (!segment.starts_with(head)) return false;
  const auto rest = pattern.substr(star + 1);
  for (std::size_t skip = head.size(); skip <= segment.size(); ++skip)
    if (segment_matches(rest, segment.substr(skip))) return true;
  return false;
}

std::string_view first_segment(std::string_view path) noexcept { return path.substr(0, path.find('/')); }

std::string_view after_first_segment(std::string_view path) noexcept {
  const auto slash = path.find('/');
  return slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
}

// `repository` empty means no segments are left.
bool segments_match(std::string_view glob, std::string_view repository) noexcept {
  if (glob.empty()) return repository.empty();
  const auto pattern = first_segment(glob);
  const auto glob_rest = after_first_segment(glob);
  if (pattern == "**") {
    if (segments_match(glob_rest, repository)) return true;
    return !repository.empty() && segments_match(glob, after_first_segment(repository));
  }
  if (repository.empty()) return false;
  return segment_matches(pattern, first_segment(repository)) &&
         segments_match(glob_rest, after_first_segment(repository));
}

}  // namespace

bool glob_matches(std::string_view glob, std::string_view repository) noexcept {
  return !repository.empty() && segments_match(glob, repository);
}

policy::policy(std::vector<access_rule> rules, std::map<std::string, std::set<std::string>> groups,
               decision fallback)
    : rules_(std::move(rules)), groups_(groups.begin(), groups.end()), fallback_(fallback) {}

bool policy::subject_matches(const std::string& subject, std::string_view identity) const {
  if (subject == "anonymous") return true;
  if (identity.empty()) return false;
  if (subject == "*") return true;
  if (subject.starts_with("group:")) {
    const auto group = groups_.find(std::string_view(subject).substr(6));
    return group != groups_.end() && group->second.contains(std::string(identity));
  }
  return subject == identity;
}

verdict policy::decide(std::string_view upstream, std::string_view repository, std::string_view identity) const {
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const auto& rule = rules_[i];
    if (rule.upstream != "*" && rule.upstream != upstream) continue;
    const bool repository_matches = std::any_of(rule.repositories.begin(), rule.repositories.end(),
                                                [repository](const auto& glob) { return glob_matches(glob, repository); });
    if (!repository_matches) continue;
    const bool subject_match = std::any_of(rule.subjects.begin(), rule.subjects.end(),
                                           [this, identity](const auto& s) { return subject_matches(s, identity); });
    if (subject_match) return {rule.grants, i};
  }
  return {fallback_, std::nullopt};
}

}  // namespace regcache::auth
