#pragma once
// The JSON bodies the admin API accepts, parsed and checked before anything
// is done. Pure functions, thread-safe. Errors are input_error messages for
// the operator (answered as 400 {"error": "..."}).
#include "regcache/admin/image_ref.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::admin {

// Admin request bodies are a few image names: anything bigger is a mistake.
inline constexpr std::size_t max_request_body = 64 * 1024;
inline constexpr std::size_t max_prefetch_images = 1000;

// POST /api/v1/pins: {"image": "alpine:3.20", "platforms": ["linux/amd64"]}
struct pin_request {
  image_ref image;
  std::vector<std::string> platforms;  // empty: all; checked by cache::platform_filter::parse
};
[[nodiscard]] parsed<pin_request> parse_pin_request(std::string_view body);

// POST /api/v1/prefetch: {"images": ["alpine:3.20", ...], "platforms": [...]}
struct prefetch_request {
  std::vector<image_ref> images;  // at least one
  std::vector<std::string> platforms;
};
[[nodiscard]] parsed<prefetch_request> parse_prefetch_request(std::string_view body);

// POST /api/v1/purge and /api/v1/scan: {"image": "alpine:3.20"}
[[nodiscard]] parsed<image_ref> parse_image_request(std::string_view body);

// POST /api/v1/verify: {"dry_run": true}; an empty body means {}.
struct verify_request {
  bool dry_run = false;
};
[[nodiscard]] parsed<verify_request> parse_verify_request(std::string_view body);

}  // namespace regcache::admin
