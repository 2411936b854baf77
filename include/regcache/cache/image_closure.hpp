#pragma once
// What an image consists of, as far as the cache knows it: starting from a
// top manifest (an index or a single image manifest) stored in the index,
// every manifest and blob it contains, optionally only for some platforms.
// Pins, prefetch, purge and the inventory all walk images this way, offline,
// from the index alone.
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"
#include "regcache/oci/manifest.hpp"
#include "regcache/store/index.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::cache {

// "os/architecture" or "os/architecture/variant" ("linux/arm64/v8"); empty
// means every platform.
struct platform_filter {
  std::vector<std::string> platforms;

  // Validates every entry; errc::invalid_platform names the first bad one.
  [[nodiscard]] static result<platform_filter> parse(const std::vector<std::string>& platforms);
  bool all() const noexcept { return platforms.empty(); }
  // An index entry without a platform always matches (attestations, or an
  // index that does not say).
  bool matches(const std::optional<oci::platform>& p) const;
};

struct image_closure {
  // Top first, then the platform manifests chosen, in document order.
  std::vector<core::digest> manifests;
  // Configs and layers of those manifests, each digest once.
  std::vector<oci::descriptor> blobs;
  // Child manifests the index names (and the filter chose) that the cache
  // does not hold: their blobs are unknown.
  std::vector<core::digest> missing_manifests;
  // Sum of blobs[].size (cached or not).
  std::uint64_t blob_bytes() const;
  // Appends an image manifest's config and layers to blobs, skipping digests
  // already listed (layers shared between platforms).
  void add_image_blobs(const oci::manifest_info& image);
};

// Walks `top` (which must be in the index: errc::manifest_unknown otherwise)
// and its children. Errors: index errors, manifest_invalid for a stored
// manifest that does not parse.
[[nodiscard]] result<image_closure> closure_of(const store::index& index, const core::digest& top,
                                               const platform_filter& filter = {});

}  // namespace regcache::cache
