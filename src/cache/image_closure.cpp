#include "regcache/cache/image_closure.hpp"

#include "regcache/cache/errc.hpp"

#include <algorithm>
#include <unordered_set>

namespace regcache::cache {
namespace {

bool valid_component(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

std::string platform_text(const oci::platform& p) {
  std::string text = p.os + "/" + p.architecture;
  if (!p.variant.empty()) text += "/" + p.variant;
  return text;
}

}  // namespace

result<platform_filter> platform_filter::parse(const std::vector<std::string>& platforms) {
  platform_filter out;
  for (const auto& p : platforms) {
    std::vector<std::string_view> parts;
    std::string_view rest(p);
    for (;;) {
      const auto slash = rest.find('/');
      parts.push_back(rest.substr(0, slash));
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
    const bool ok = (parts.size() == 2 || parts.size() == 3) &&
                    std::all_of(parts.begin(), parts.end(), [](std::string_view c) { return valid_component(c); });
    if (!ok) return errc::invalid_platform;
    out.platforms.push_back(p);
  }
  return out;
}

bool platform_filter::matches(const std::optional<oci::platform>& p) const {
  if (all() || !p) return true;
  const auto text = platform_text(*p);
  const auto without_variant = p->os + "/" + p->architecture;
  for (const auto& wanted : platforms)
    if (wanted == text || wanted == without_variant) return true;
  return false;
}

std::uint64_t image_closure::blob_bytes() const {
  std::uint64_t sum = 0;
  for (const auto& b : blobs) sum += b.size;
  return sum;
}

result<image_closure> closure_of(const store::index& index, const core::digest& top, const platform_filter& filter) {
  image_closure out;
  std::unordered_set<core::digest> seen_blobs;
  auto add_image = [&](const oci::manifest_info& info) {
    std::vector<oci::descriptor> parts;
    if (info.config) parts.push_back(*info.config);
    parts.insert(parts.end(), info.layers.begin(), info.layers.end());
    for (auto& d : parts)
      if (seen_blobs.insert(d.digest).second) out.blobs.push_back(std::move(d));
  };

  auto stored = index.get_manifest(top);
  if (!stored) return stored.error();
  if (!*stored) return errc::manifest_unknown;
  auto info = oci::parse_manifest((*stored)->bytes, (*stored)->media_type);
  if (!info) return info.error();
  out.manifests.push_back(top);
  if (!info->is_index) {
    add_image(*info);
    return out;
  }
  for (const auto& child : info->manifests) {
    if (!filter.matches(child.platform)) continue;
    auto child_row = index.get_manifest(child.digest);
    if (!child_row) return child_row.error();
    if (!*child_row) {
      out.missing_manifests.push_back(child.digest);
      continue;
    }
    auto child_info = oci::parse_manifest((*child_row)->bytes, (*child_row)->media_type);
    if (!child_info) return child_info.error();
    out.manifests.push_back(child.digest);
    // Nested indexes are rare and not followed: their children count as missing.
    if (child_info->is_index) {
      for (const auto& nested : child_info->manifests) out.missing_manifests.push_back(nested.digest);
      continue;
    }
    add_image(*child_info);
  }
  return out;
}

}  // namespace regcache::cache
