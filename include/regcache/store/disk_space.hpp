#pragma once
// How full the filesystem holding the cache is. A reader is a function so
// that tests can stand in for the disk (statvfs in production): the evictor
// keeps `available` above storage.min_free, and blob_store refuses a download
// that would take it below (blob_store::keep_free).
#include "regcache/core/result.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>

namespace regcache::store {

struct disk_space {
  std::uint64_t capacity = 0;   // the filesystem's size
  std::uint64_t available = 0;  // what an unprivileged writer may still use (statvfs f_bavail)
};

// Callable from any thread; errc::io_error when the filesystem cannot be measured.
using disk_space_reader = std::function<result<disk_space>()>;

// statvfs(2) of the filesystem holding `path`.
[[nodiscard]] disk_space_reader filesystem_space(std::filesystem::path path);

}  // namespace regcache::store
