#pragma once
// What an image manifest or index references. The bytes
// are never re-serialized: callers store and serve the exact upstream bytes;
// this parse only extracts the descriptors. Pure functions, thread-safe.
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::oci {

inline constexpr std::size_t max_manifest_bytes = 4 * 1024 * 1024;
// config + layers + manifests + subject, summed.
inline constexpr std::size_t max_manifest_descriptors = 10'000;

struct platform {
  std::string os, architecture, variant;
};

struct descriptor {
  std::string media_type;  // empty when the descriptor has none
  core::digest digest;
  std::uint64_t size = 0;
  std::optional<oci::platform> platform;  // index entries only
};

struct manifest_info {
  std::string media_type;  // the JSON mediaType, else the Content-Type without parameters
  bool is_index = false;
  std::optional<descriptor> config;
  std::vector<descriptor> layers;
  std::vector<descriptor> manifests;
  std::optional<descriptor> subject;

  // config, then layers, then manifests, in document order; not the subject
  // (it is referred to, not contained).
  [[nodiscard]] std::vector<core::digest> referenced() const;
};

// Parses an image manifest, index, Docker v2 manifest or manifest list.
// It is an index when its media type is an index type, or when it has
// "manifests" and no "layers". An image manifest must have a "config".
// Docker schema 1 (by media type or "schemaVersion": 1) yields no descriptors.
// A repeated key counts with its last value, as in Go's encoding/json, which
// the clients use, so both sides see the same references.
// Errors: errc::manifest_too_large (more than max_manifest_bytes),
// errc::manifest_invalid (not a JSON object, fields of the wrong type,
// missing or unparsable digests and sizes, more than max_manifest_descriptors).
[[nodiscard]] result<manifest_info> parse_manifest(std::string_view bytes, std::string_view content_type);

}  // namespace regcache::oci
