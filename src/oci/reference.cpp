#include "regcache/oci/reference.hpp"

#include "regcache/core/errc.hpp"
#include "regcache/oci/errc.hpp"

namespace regcache::oci {
namespace {

bool is_lower_alnum(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool is_tag_start(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_tag_char(char c) noexcept { return is_tag_start(c) || c == '.' || c == '-'; }

}  // namespace

bool is_valid_repository_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_repository_name_length) return false;
  // A single left-to-right pass over the regex's structure: every separator
  // ('.', '_', '__', '-+', '/') must sit between two alphanumerics.
  bool need_alnum = true;
  std::size_t i = 0;
  while (i < name.size()) {
    const char c = name[i];
    if (is_lower_alnum(c)) {
      need_alnum = false;
      ++i;
      continue;
    }
    if (need_alnum) return false;
    if (c == '.' || c == '/') {
      ++i;
    } else if (c == '_') {
      ++i;
      if (i < name.size() && name[i] == '_') ++i;
    } else if (c == '-') {
      while (i < name.size() && name[i] == '-') ++i;
    } else {
      return false;
    }
    need_alnum = true;
  }
  return !need_alnum;
}

bool is_valid_tag(std::string_view tag) noexcept {
  if (tag.empty() || tag.size() > max_tag_length || !is_tag_start(tag.front())) return false;
  for (char c : tag.substr(1))
    if (!is_tag_char(c)) return false;
  return true;
}

result<reference> parse_reference(std::string_view text) {
  if (text.find(':') == std::string_view::npos) {
    if (!is_valid_tag(text)) return errc::tag_invalid;
    return reference{std::string(text), std::nullopt};
  }
  auto parsed = core::digest::parse(text);
  if (!parsed) {
    if (parsed.error() == core::errc::unsupported_digest) return errc::unsupported_digest;
    return errc::digest_invalid;
  }
  return reference{std::string(text), std::move(*parsed)};
}

}  // namespace regcache::oci
