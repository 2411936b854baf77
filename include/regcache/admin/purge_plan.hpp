#pragma once
// What purging one image may delete without hurting any other cached image:
// a pure function over the reference graph of the cached manifests, so the
// rules are tested without an index.
//
//   candidates     the image's closure: its manifests and blobs
//   references     every cached manifest → the digests it references
//                  (manifests of an index, config and layers of an image)
//   kept_roots     manifests that stay named: targets of the tags that stay
//                  and of every pin
//
// A candidate manifest stays when it is a kept root or referenced by a
// manifest that stays; what a staying manifest references stays too. Every
// other candidate goes. Thread-safe (no state).
#include "regcache/core/digest.hpp"

#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace regcache::admin {

struct purge_plan {
  std::vector<core::digest> manifests;  // in candidate order
  std::vector<core::digest> blobs;      // in candidate order
};

[[nodiscard]] purge_plan plan_purge(const std::vector<core::digest>& candidate_manifests,
                                    const std::vector<core::digest>& candidate_blobs,
                                    const std::unordered_map<core::digest, std::vector<core::digest>>& references,
                                    const std::unordered_set<core::digest>& kept_roots);

}  // namespace regcache::admin
