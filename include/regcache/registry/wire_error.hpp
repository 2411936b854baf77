#pragma once
// The one mapping from internal errors to what a client sees on the wire.
#include "regcache/core/result.hpp"
#include "regcache/oci/error_body.hpp"

#include <string>
#include <string_view>

namespace regcache::registry {

struct wire_error {
  unsigned status = 500;
  oci::wire_code code = oci::wire_code::unknown;
  std::string message;
  // Seconds for Retry-After, 0 for none.
  unsigned retry_after = 0;
};

// `what` names the thing asked for ("manifest library/alpine:3.20"),
// `upstream` the registry it came from.
[[nodiscard]] wire_error to_wire_error(const error_code& ec, std::string_view what, std::string_view upstream);

}  // namespace regcache::registry
