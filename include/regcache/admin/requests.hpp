#pragma once
// The JSON bodies the admin API accepts, parsed and checked before anything
// is done. Pure functions, thread-safe. Errors are input_error messages for
// the operator (answered as 400 {"error": "..."}).
#include "regcache/admin/image_ref.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::admin {

// Admin request bodies are a few image names: anything bigger is a mistake.
inline constexpr std::size_t max_request_body = 64 * 1024;
inline constexpr std::size_t max_prefetch_images = 1000;

// A pin lasts at most this long (--for): longer is a pin without expiry.
inline constexpr std::chrono::milliseconds max_pin_duration{std::chrono::days(3650)};
inline constexpr std::size_t max_pin_label_length = 317;  // a Kubernetes label: 253-byte key, 63-byte value

// POST /api/v1/pins: {"image": "alpine:3.20", "platforms": ["linux/amd64"],
// "for_ms": 604800000, "label": "app=shop"}
struct pin_request {
  image_ref image;
  std::vector<std::string> platforms;  // empty: all; checked by cache::platform_filter::parse
  std::optional<std::chrono::milliseconds> lasts;  // for_ms: the pin expires that long after it is set
  std::string label;                               // empty: none
};
[[nodiscard]] parsed<pin_request> parse_pin_request(std::string_view body);

// A pin's label, "key=value" as in Kubernetes selectors: a key of letters,
// digits and "-_./", a value of letters, digits and "-_.", both non-empty.
// Returns the label unchanged.
[[nodiscard]] parsed<std::string> parse_pin_label(std::string_view text);

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
