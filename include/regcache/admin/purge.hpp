#pragma once
// Purging one image from the cache (POST /api/v1/purge, `regcache purge`):
// its tag row(s), its manifests and the blobs no other cached manifest
// references (admin::plan_purge decides), files and rows. A pinned image is
// refused: unpin it first.
//
//   by tag      that tag row goes
//   by digest   every tag of that repository naming the digest goes
//
// Tags of other repositories naming the same manifest, and every pin, keep
// what they name. Everything goes through `store` (store/remover.hpp), so the
// cache forgets the purged manifests and tags at once and the cached_bytes
// gauge drops by the blobs' bytes.
//
// Blocking: run it on the blocking executor.
#include "regcache/core/digest.hpp"
#include "regcache/oci/reference.hpp"
#include "regcache/store/remover.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace regcache::admin {

struct purge_report {
  std::string digest;  // the top manifest
  std::uint64_t tags_removed = 0;
  std::uint64_t manifests_removed = 0;
  std::uint64_t blobs_removed = 0;
  std::uint64_t bytes_removed = 0;
};

struct purge_failure {
  enum class kind { not_cached, pinned, failed };
  kind what = kind::failed;
  std::string message;
};

[[nodiscard]] boost::system::result<purge_report, purge_failure> purge_image(store::remover& store,
                                                                             std::string_view upstream,
                                                                             std::string_view repository,
                                                                             const oci::reference& reference);

}  // namespace regcache::admin
