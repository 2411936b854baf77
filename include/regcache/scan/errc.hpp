#pragma once
// Errors of the scan gate: why a manifest is not served, why a scan pass does
// not open something, why a webhook's later verdict is not taken.
#include "regcache/core/result.hpp"

#include <type_traits>

namespace regcache::scan {

enum class errc {
  failed = 1,          // the scanner failed the manifest (enforce mode)
  not_scanned,         // no verdict yet, or the scan ended in error (block_until_scanned)
  pass_refused,        // a scan pass does not cover this digest, repository or request
  not_awaiting,        // a verdict was posted for a digest no webhook scan awaits
  webhook_failed,      // the webhook could not be reached or answered wrongly
};

const boost::system::error_category& scan_category() noexcept;
inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), scan_category()}; }

}  // namespace regcache::scan

template <>
struct boost::system::is_error_code_enum<regcache::scan::errc> : std::true_type {};
