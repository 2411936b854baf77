#pragma once
// What the cache holds, image by image (GET /api/v1/images) and repository
// by repository (GET /api/v1/repositories), computed from the index alone.
//
// An image is a cached tag. Its size is that of its closure (every platform):
// total_bytes counts every config and layer its manifests name, cached_bytes
// those the index has a row for. A repository's bytes count each blob once,
// however many of its tags share it.
//
// Blocking (a scan of tags and pins and a few reads per tag): run it on the
// blocking executor. Errors: index errors; a tag whose manifest is missing or
// does not parse is listed with what is known (complete = false).
#include "regcache/core/result.hpp"
#include "regcache/store/index.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace regcache::admin {

struct image_entry {
  std::string upstream;
  std::string repository;
  std::string tag;
  std::string digest;
  std::string media_type;
  std::vector<std::string> platforms;  // of an index's entries: "os/arch[/variant]"
  std::uint64_t cached_bytes = 0;
  std::uint64_t total_bytes = 0;
  // Every manifest of the closure is cached (else its blobs are not known).
  bool complete = true;
  std::int64_t last_used_ms = 0;  // newest access of its manifests and cached blobs
  bool pinned = false;
  // Of the pin that covers it (the one naming its tag, else its digest).
  std::int64_t pin_expires_at_ms = 0;  // 0: never
  std::string pin_label;
  // The scan gate's verdicts on its cached image manifests (an index's are
  // its platform manifests'), worst first: "fail", "error", "pending" (some
  // have none yet), "pass"; empty when none was scanned.
  std::string scan;
};

struct repository_entry {
  std::string upstream;
  std::string repository;
  std::uint64_t tags = 0;
  std::uint64_t cached_bytes = 0;
  std::int64_t last_used_ms = 0;
};

struct inventory {
  std::vector<image_entry> images;             // by upstream, repository, tag
  std::vector<repository_entry> repositories;  // by upstream, repository
};

[[nodiscard]] result<inventory> take_inventory(const store::index& index);

}  // namespace regcache::admin
