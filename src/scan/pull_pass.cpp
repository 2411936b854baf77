#include "regcache/scan/pull_pass.hpp"

#include "regcache/oci/manifest.hpp"

#include <sys/random.h>

#include <array>
#include <cstdio>

namespace regcache::scan {
namespace {

constexpr std::size_t token_bytes = 16;

std::string random_token() {
  std::array<unsigned char, token_bytes> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    const auto n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  std::string hex;
  for (auto b : bytes) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  return hex;
}

}  // namespace

std::string pull_passes::issue(std::string upstream, std::string repository, core::digest manifest) {
  auto token = random_token();
  std::lock_guard lock(mutex_);
  passes_[token] = pass{std::move(upstream), std::move(repository), {std::move(manifest)}};
  return token;
}

void pull_passes::revoke(const std::string& token) {
  std::lock_guard lock(mutex_);
  passes_.erase(token);
}

bool pull_passes::admits(std::string_view token, std::string_view upstream, std::string_view repository,
                         const core::digest& digest) const {
  std::lock_guard lock(mutex_);
  const auto it = passes_.find(std::string(token));
  if (it == passes_.end()) return false;
  const auto& p = it->second;
  return p.upstream == upstream && p.repository == repository && p.admitted.contains(digest);
}

void pull_passes::served_manifest(std::string_view token, const core::digest& manifest, std::string_view media_type,
                                  std::string_view bytes) {
  auto info = oci::parse_manifest(bytes, media_type);
  if (!info) return;
  std::lock_guard lock(mutex_);
  const auto it = passes_.find(std::string(token));
  if (it == passes_.end() || !it->second.admitted.contains(manifest)) return;
  for (const auto& referenced : info->referenced()) it->second.admitted.insert(referenced);
}

std::optional<pull_passes::split_name> pull_passes::split(std::string_view path_name) {
  if (!path_name.starts_with(path_prefix)) return std::nullopt;
  const auto slash = path_name.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto token = path_name.substr(path_prefix.size(), slash - path_prefix.size());
  if (token.size() != 2 * token_bytes) return std::nullopt;
  return split_name{std::string(token), std::string(path_name.substr(slash + 1))};
}

std::size_t pull_passes::size() const {
  std::lock_guard lock(mutex_);
  return passes_.size();
}

}  // namespace regcache::scan
