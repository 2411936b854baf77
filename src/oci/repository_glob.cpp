#include "regcache/oci/repository_glob.hpp"

#include "regcache/oci/errc.hpp"

#include <cstddef>

namespace regcache::oci {
namespace {

constexpr std::string_view any_segments = "**";

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool is_valid_segment(std::string_view segment) noexcept {
  if (segment.empty()) return false;
  if (segment == any_segments) return true;
  if (segment.find(any_segments) != std::string_view::npos) return false;
  for (char c : segment)
    if (!is_name_char(c) && c != '*') return false;
  return true;
}

std::vector<std::string_view> split_segments(std::string_view text) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto slash = text.find('/');
    out.push_back(text.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    text.remove_prefix(slash + 1);
  }
}

// Wildcard matching with '*' as any run of characters: on a mismatch, the
// last '*' takes one more character and matching resumes after it. Only the
// last '*' needs revisiting, since an earlier one could only take
// characters the later one can take too.
bool segment_matches(std::string_view pattern, std::string_view name) noexcept {
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

repository_glob::repository_glob(std::string text) : text_(std::move(text)) {
  for (auto segment : split_segments(text_)) segments_.emplace_back(segment);
}

result<repository_glob> repository_glob::parse(std::string_view pattern) {
  for (auto segment : split_segments(pattern))
    if (!is_valid_segment(segment)) return errc::repository_glob_invalid;
  return repository_glob(std::string(pattern));
}

// The same algorithm as segment_matches, one level up: "**" is the star and
// every other pattern segment matches exactly one name segment.
bool repository_glob::matches(std::string_view repository) const {
  if (repository.empty()) return false;
  const auto name = split_segments(repository);
  const std::size_t none = segments_.size();
  std::size_t p = 0, n = 0, star = none, resume = 0;
  while (n < name.size()) {
    if (p < segments_.size() && segments_[p] == any_segments) {
      star = p++;
      resume = n;
    } else if (p < segments_.size() && segment_matches(segments_[p], name[n])) {
      ++p;
      ++n;
    } else if (star != none) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < segments_.size() && segments_[p] == any_segments) ++p;
  return p == segments_.size();
}

bool matches_any(std::span<const repository_glob> globs, std::string_view repository) {
  for (const auto& glob : globs)
    if (glob.matches(repository)) return true;
  return false;
}

}  // namespace regcache::oci
