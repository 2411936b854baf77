#include "regcache/oci/media_type.hpp"

#include "regcache/core/text.hpp"

#include <cstddef>

namespace regcache::oci {
namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Position of the first `delim` outside a quoted-string, or npos. Quoted
// strings may escape any byte with '\'.
std::size_t find_unquoted(std::string_view s, char delim) noexcept {
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == delim) {
      return i;
    }
  }
  return std::string_view::npos;
}

// Takes the text up to the next unquoted `delim` off the front of `s`.
std::string_view next_item(std::string_view& s, char delim) noexcept {
  const auto at = find_unquoted(s, delim);
  const auto item = s.substr(0, at);
  s = at == std::string_view::npos ? std::string_view{} : s.substr(at + 1);
  return item;
}

// qvalue = ( "0" [ "." 0*3("0") ] ) / ( "1" [ "." 0*3("0") ] ); only zero matters.
bool is_zero_qvalue(std::string_view v) noexcept {
  if (v.empty() || v.front() != '0') return false;
  v.remove_prefix(1);
  if (v.empty()) return true;
  if (v.front() != '.' || v.size() > 4) return false;
  for (char c : v.substr(1))
    if (c != '0') return false;
  return true;
}

bool has_zero_q(std::string_view params) noexcept {
  while (!params.empty()) {
    const auto param = core::trim_ows(next_item(params, ';'));
    const auto eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (iequals(core::trim_ows(param.substr(0, eq)), "q"))
      return is_zero_qvalue(core::trim_ows(param.substr(eq + 1)));
  }
  return false;
}

// How precisely `range` names `type`: 3 exact, 2 "<type>/*", 1 "*/*", 0 no match.
int specificity(std::string_view range, std::string_view type) noexcept {
  if (range == "*/*") return 1;
  if (range.size() >= 2 && range.ends_with("/*")) {
    const auto prefix = range.substr(0, range.size() - 1);  // keeps the '/'
    return type.size() > prefix.size() && iequals(type.substr(0, prefix.size()), prefix) ? 2 : 0;
  }
  return iequals(range, type) ? 3 : 0;
}

}  // namespace

bool is_index_media_type(std::string_view media_type) noexcept {
  const auto t = strip_parameters(media_type);
  return iequals(t, oci_index) || iequals(t, docker_manifest_list);
}

bool is_schema1_media_type(std::string_view media_type) noexcept {
  const auto t = strip_parameters(media_type);
  return iequals(t, docker_schema1_signed) || iequals(t, docker_schema1);
}

std::string_view manifest_accept_header() noexcept {
  return "application/vnd.docker.distribution.manifest.v2+json, "
         "application/vnd.docker.distribution.manifest.list.v2+json, "
         "application/vnd.oci.image.manifest.v1+json, "
         "application/vnd.oci.image.index.v1+json, */*";
}

std::string_view strip_parameters(std::string_view media_type) noexcept {
  return core::trim_ows(media_type.substr(0, media_type.find(';')));
}

bool accepts(std::span<const std::string_view> accept_header_values, std::string_view media_type) noexcept {
  const auto type = strip_parameters(media_type);
  bool any_range = false;
  int best = 0;
  bool best_acceptable = false;
  for (auto value : accept_header_values) {
    while (!value.empty()) {
      const auto element = next_item(value, ',');
      const auto semicolon = find_unquoted(element, ';');
      const auto range = core::trim_ows(element.substr(0, semicolon));
      if (range.empty()) continue;
      any_range = true;
      const int s = specificity(range, type);
      // Among equally specific ranges the first one listed decides.
      if (s > best) {
        best = s;
        best_acceptable =
            semicolon == std::string_view::npos || !has_zero_q(element.substr(semicolon + 1));
      }
    }
  }
  return !any_range || best_acceptable;
}

}  // namespace regcache::oci
