#include "regcache/oci/error_body.hpp"

#include <boost/json.hpp>

namespace regcache::oci {
namespace {

// Length of the well-formed UTF-8 sequence at the front of `s` (RFC 3629:
// no overlongs, no surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_sequence_length(std::string_view s) noexcept {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xc0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;  // overlong
    if (c == 0xed && b(1) > 0x9f) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xf4 && b(1) > 0x8f) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Messages often quote what a client sent; Boost.JSON copies string bytes
// verbatim, so invalid UTF-8 would make the whole body invalid JSON.
std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const auto n = utf8_sequence_length(s);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      s.remove_prefix(1);
    } else {
      out.append(s.substr(0, n));
      s.remove_prefix(n);
    }
  }
  return out;
}

}  // namespace

std::string_view code_name(wire_code code) noexcept {
  switch (code) {
    case wire_code::blob_unknown: return "BLOB_UNKNOWN";
    case wire_code::blob_upload_invalid: return "BLOB_UPLOAD_INVALID";
    case wire_code::blob_upload_unknown: return "BLOB_UPLOAD_UNKNOWN";
    case wire_code::digest_invalid: return "DIGEST_INVALID";
    case wire_code::manifest_blob_unknown: return "MANIFEST_BLOB_UNKNOWN";
    case wire_code::manifest_invalid: return "MANIFEST_INVALID";
    case wire_code::manifest_unknown: return "MANIFEST_UNKNOWN";
    case wire_code::name_invalid: return "NAME_INVALID";
    case wire_code::name_unknown: return "NAME_UNKNOWN";
    case wire_code::size_invalid: return "SIZE_INVALID";
    case wire_code::unauthorized: return "UNAUTHORIZED";
    case wire_code::denied: return "DENIED";
    case wire_code::unsupported: return "UNSUPPORTED";
    case wire_code::too_many_requests: return "TOOMANYREQUESTS";
    case wire_code::tag_invalid: return "TAG_INVALID";
    case wire_code::pagination_number_invalid: return "PAGINATION_NUMBER_INVALID";
    case wire_code::range_invalid: return "RANGE_INVALID";
    case wire_code::unavailable: return "UNAVAILABLE";
    case wire_code::unknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

unsigned default_status(wire_code code) noexcept {
  switch (code) {
    case wire_code::blob_unknown:
    case wire_code::blob_upload_unknown:
    case wire_code::manifest_unknown:
    case wire_code::name_unknown: return 404;
    case wire_code::blob_upload_invalid:
    case wire_code::digest_invalid:
    case wire_code::manifest_blob_unknown:
    case wire_code::manifest_invalid:
    case wire_code::name_invalid:
    case wire_code::size_invalid:
    case wire_code::tag_invalid:
    case wire_code::pagination_number_invalid: return 400;
    case wire_code::unauthorized: return 401;
    case wire_code::denied: return 403;
    case wire_code::unsupported: return 405;
    case wire_code::range_invalid: return 416;
    case wire_code::too_many_requests: return 429;
    case wire_code::unavailable: return 503;
    case wire_code::unknown: return 500;
  }
  return 500;
}

std::string error_body(wire_code code, std::string_view message, const boost::json::value* detail) {
  boost::json::object error;
  error["code"] = code_name(code);
  error["message"] = valid_utf8(message);
  if (detail != nullptr) error["detail"] = *detail;
  boost::json::array errors;
  errors.push_back(std::move(error));
  boost::json::object body;
  body["errors"] = std::move(errors);
  return boost::json::serialize(body);
}

}  // namespace regcache::oci
