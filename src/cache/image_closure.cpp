#include "regcache/cache/image_closure.hpp"

#include "regcache/cache/errc.hpp"

#include <algorithm>

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

void image_closure::add_image_blobs(const oci::manifest_info& image) {
  auto add = [this](const oci::descriptor& d) {
    const bool listed = std::any_of(blobs.begin(), blobs.end(), [&](const auto& b) { return b.digest == d.digest; });
    if (!listed) blobs.push_back(d);
  };
  if (image.config) add(*image.config);
  for (const auto& layer : image.layers) add(layer);
}

std::uint64_t image_closure::blob_bytes() const {
  std::uint64_t sum = 0;
  for (const auto& b : blobs) sum += b.size;
  return sum;
}

result<image_closure> closure_of(const store::index& index, const core::digest& top, const platform_filter& filter) {
  image_closure out;
  auto stored = index.get_manifest(top);
  if (!stored) return stored.error();
  if (!*stored) return errc::manifest_unknown;
  auto info = oci::parse_manifest((*stored)->bytes, (*stored)->media_type);
  if (!info) return info.error();
  out.manifests.push_back(top);
  if (!info->is_index) {
    out.add_image_blobs(*info);
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
    out.add_image_blobs(*child_info);
  }
  return out;
}

}  // namespace regcache::cache
