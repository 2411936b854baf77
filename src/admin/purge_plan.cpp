#include "regcache/admin/purge_plan.hpp"

namespace regcache::admin {

purge_plan plan_purge(const std::vector<core::digest>& candidate_manifests,
                      const std::vector<core::digest>& candidate_blobs,
                      const std::unordered_map<core::digest, std::vector<core::digest>>& references,
                      const std::unordered_set<core::digest>& kept_roots) {
  std::unordered_set<core::digest> going(candidate_manifests.begin(), candidate_manifests.end());
  // Everything referenced by a manifest that stays stays; keeping a manifest
  // can keep more, so repeat until nothing changes (graphs are two levels deep).
  std::unordered_set<core::digest> kept;
  for (bool changed = true; changed;) {
    changed = false;
    kept.clear();
    for (const auto& [manifest, refs] : references)
      if (!going.contains(manifest)) kept.insert(refs.begin(), refs.end());
    for (auto it = going.begin(); it != going.end();) {
      if (kept_roots.contains(*it) || kept.contains(*it)) {
        it = going.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
  }

  purge_plan plan;
  for (const auto& m : candidate_manifests)
    if (going.contains(m)) plan.manifests.push_back(m);
  for (const auto& b : candidate_blobs)
    if (!kept.contains(b)) plan.blobs.push_back(b);
  return plan;
}

}  // namespace regcache::admin
