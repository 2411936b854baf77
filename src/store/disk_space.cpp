#include "regcache/store/disk_space.hpp"

#include "regcache/store/errc.hpp"

#include <sys/statvfs.h>

#include <cerrno>

namespace regcache::store {

disk_space_reader filesystem_space(std::filesystem::path path) {
  return [path = std::move(path)]() -> result<disk_space> {
    struct statvfs fs {};
    if (::statvfs(path.c_str(), &fs) != 0) return error_from_errno(errno);
    const std::uint64_t unit = fs.f_frsize ? fs.f_frsize : fs.f_bsize;
    return disk_space{static_cast<std::uint64_t>(fs.f_blocks) * unit, static_cast<std::uint64_t>(fs.f_bavail) * unit};
  };
}

}  // namespace regcache::store
