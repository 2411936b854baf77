#pragma once
// Errors of the store module: blob files on disk and the RocksDB index.
//
// Failed system calls map to these values: ENOSPC and EDQUOT become no_space
// (the cache reacts by evicting), ENOENT on a lookup becomes not_found, every
// other errno becomes io_error. RocksDB failures become index_error, except
// RocksDB's own out-of-space status, which is no_space as well.
#include "regcache/core/result.hpp"

#include <type_traits>

namespace regcache::store {

enum class errc {
  not_found = 1,    // no such blob file, index row or link
  io_error,         // a file system call failed for another reason than space
  no_space,         // ENOSPC / EDQUOT: the disk or the quota is full
  digest_mismatch,  // the bytes written hash to another digest than expected
  size_mismatch,    // the bytes written are more or fewer than expected
  index_error,      // RocksDB refused an operation (I/O, lock held, corruption)
  corrupt_record,   // an index key or value does not decode, or its format version is unknown
  writer_closed,    // append or commit on a blob_writer already committed or aborted
};

const boost::system::error_category& store_category() noexcept;

inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), store_category()}; }

// no_space for ENOSPC and EDQUOT, io_error for any other errno value.
[[nodiscard]] error_code error_from_errno(int err) noexcept;

}  // namespace regcache::store

template <>
struct boost::system::is_error_code_enum<regcache::store::errc> : std::true_type {};
