#include "regcache/admin/inventory.hpp"

#include "regcache/cache/image_closure.hpp"
#include "regcache/oci/manifest.hpp"
#include "regcache/oci/media_type.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_set>

namespace regcache::admin {
namespace {

std::string platform_text(const oci::platform& p) {
  std::string text = p.os + "/" + p.architecture;
  if (!p.variant.empty()) text += "/" + p.variant;
  return text;
}

using repo_key = std::pair<std::string, std::string>;

struct pins_index {
  std::map<std::tuple<std::string, std::string, std::string>, store::pin_record> references;
  std::map<repo_key, std::map<std::string, store::pin_record>> digests;

  // The pin that covers the image: the one naming its tag, else one naming its digest.
  const store::pin_record* covering(const image_entry& e) const {
    if (const auto it = references.find({e.upstream, e.repository, e.tag}); it != references.end()) return &it->second;
    const auto repo = digests.find({e.upstream, e.repository});
    if (repo == digests.end()) return nullptr;
    const auto it = repo->second.find(e.digest);
    return it == repo->second.end() ? nullptr : &it->second;
  }
};

struct repository_totals {
  std::uint64_t tags = 0;
  std::unordered_set<core::digest> blobs;
  std::uint64_t cached_bytes = 0;
  std::int64_t last_used_ms = 0;
};

// An image's scan column: the worst of its manifests' verdicts.
struct scan_tally {
  std::size_t pass = 0, fail = 0, error = 0, none = 0;

  void add(std::optional<store::scan_verdict> verdict) {
    if (!verdict) ++none;
    else if (*verdict == store::scan_verdict::pass) ++pass;
    else if (*verdict == store::scan_verdict::fail) ++fail;
    else ++error;
  }
  std::string summary() const {
    if (fail) return "fail";
    if (error) return "error";
    if (none) return pass ? "pending" : "";
    return pass ? "pass" : "";
  }
};

}  // namespace

result<inventory> take_inventory(const store::index& index) {
  pins_index pins;
  auto ec = index.for_each_pin(
      [&](std::string_view up, std::string_view repo, std::string_view ref, const store::pin_record& pin) {
        pins.references.emplace(std::tuple{std::string(up), std::string(repo), std::string(ref)}, pin);
        pins.digests[{std::string(up), std::string(repo)}].emplace(pin.digest.str(), pin);
        return true;
      });
  if (ec) return ec;

  struct tag_row {
    image_entry entry;
    core::digest digest;
  };
  std::vector<tag_row> rows;
  ec = index.for_each_tag(
      [&](std::string_view up, std::string_view repo, std::string_view tag, const store::tag_record& record) {
        image_entry e;
        e.upstream = up;
        e.repository = repo;
        e.tag = tag;
        e.digest = record.digest.str();
        e.media_type = record.media_type;
        rows.push_back({std::move(e), record.digest});
        return true;
      });
  if (ec) return ec;

  inventory out;
  std::map<repo_key, repository_totals> repositories;
  for (auto& [e, digest] : rows) {
    if (const auto* pin = pins.covering(e)) {
      e.pinned = true;
      e.pin_expires_at_ms = pin->expires_at_ms;
      e.pin_label = pin->label;
    }
    auto& totals = repositories[{e.upstream, e.repository}];
    ++totals.tags;
    auto top = index.get_manifest(digest);
    if (!top) return top.error();
    if (!*top) {
      e.complete = false;
      out.images.push_back(std::move(e));
      continue;
    }
    if (auto info = oci::parse_manifest((*top)->bytes, (*top)->media_type); info && info->is_index) {
      for (const auto& m : info->manifests)
        if (m.platform) e.platforms.push_back(platform_text(*m.platform));
    }
    auto closure = cache::closure_of(index, digest);
    if (!closure) {
      e.complete = false;
      e.last_used_ms = (*top)->last_access_ms;
      out.images.push_back(std::move(e));
      continue;
    }
    e.complete = closure->missing_manifests.empty();
    e.total_bytes = closure->blob_bytes();
    scan_tally scans;
    for (const auto& m : closure->manifests) {
      auto row = index.get_manifest(m);
      if (!row) return row.error();
      if (!*row) continue;
      e.last_used_ms = std::max(e.last_used_ms, (*row)->last_access_ms);
      if (oci::is_index_media_type((*row)->media_type)) continue;
      auto verdict = index.get_scan(m);
      if (!verdict) return verdict.error();
      scans.add(*verdict ? std::optional((*verdict)->verdict) : std::nullopt);
    }
    e.scan = scans.summary();
    for (const auto& b : closure->blobs) {
      auto row = index.get_blob(b.digest);
      if (!row) return row.error();
      if (!*row) continue;
      e.cached_bytes += (*row)->size;
      e.last_used_ms = std::max(e.last_used_ms, (*row)->last_access_ms);
      if (totals.blobs.insert(b.digest).second) totals.cached_bytes += (*row)->size;
    }
    totals.last_used_ms = std::max(totals.last_used_ms, e.last_used_ms);
    out.images.push_back(std::move(e));
  }
  for (auto& [key, totals] : repositories)
    out.repositories.push_back({key.first, key.second, totals.tags, totals.cached_bytes, totals.last_used_ms});
  return out;
}

}  // namespace regcache::admin
