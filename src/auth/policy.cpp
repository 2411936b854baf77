#include "regcache/auth/policy.hpp"

#include <algorithm>

namespace regcache::auth {
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
    if (!oci::matches_any(rule.repositories, repository)) continue;
    const bool subject_match = std::any_of(rule.subjects.begin(), rule.subjects.end(),
                                           [this, identity](const auto& s) { return subject_matches(s, identity); });
    if (subject_match) return {rule.grants, i};
  }
  return {fallback_, std::nullopt};
}

}  // namespace regcache::auth
