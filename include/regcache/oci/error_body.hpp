#pragma once
// OCI error codes and the JSON error body every failing response carries
// (OCI distribution-spec). Pure functions, thread-safe.
#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>

namespace regcache::oci {

enum class wire_code {
  blob_unknown,
  blob_upload_invalid,
  blob_upload_unknown,
  digest_invalid,
  manifest_blob_unknown,
  manifest_invalid,
  manifest_unknown,
  name_invalid,
  name_unknown,
  size_invalid,
  unauthorized,
  denied,
  unsupported,
  too_many_requests,
  tag_invalid,
  pagination_number_invalid,
  range_invalid,
  unavailable,
  unknown,
};

// The wire spelling: "BLOB_UNKNOWN", ..., "TOOMANYREQUESTS", "UNKNOWN".
[[nodiscard]] std::string_view code_name(wire_code code) noexcept;

// The status the spec and the CNCF registry use with the code: 404 for
// unknown content, 400 for invalid input (also MANIFEST_BLOB_UNKNOWN, a push
// error), 401, 403, 405 for UNSUPPORTED, 416, 429, 503 for UNAVAILABLE and
// 500 for UNKNOWN.
[[nodiscard]] unsigned default_status(wire_code code) noexcept;

// {"errors":[{"code":"…","message":"…","detail":…}]}; "detail" only when
// given. Strings are JSON-escaped.
[[nodiscard]] std::string error_body(wire_code code, std::string_view message,
                                     const boost::json::value* detail = nullptr);

}  // namespace regcache::oci
