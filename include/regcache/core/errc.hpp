#pragma once
// Errors of the core module: parsing of digests, sizes and durations.
#include "regcache/core/result.hpp"

#include <type_traits>

namespace regcache::core {

enum class errc {
  invalid_digest = 1,      // not algorithm:encoded per the OCI image-spec grammar
  unsupported_digest,      // grammar-valid, but an algorithm regcache cannot verify
  invalid_byte_size,       // "50GiB", "80%", "1048576" are the accepted shapes
  invalid_duration,        // "300ms", "5m", "1h30m", "7d"
  digest_mismatch,         // content hashed to another digest than expected
};

const boost::system::error_category& core_category() noexcept;

inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), core_category()}; }

}  // namespace regcache::core

template <>
struct boost::system::is_error_code_enum<regcache::core::errc> : std::true_type {};
