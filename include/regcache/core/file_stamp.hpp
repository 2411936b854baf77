#pragma once
// Whether a file changed, without reading it: the stat(2) fields that move
// when its content is replaced. One mechanism for every file regcache
// re-reads when it changes (TLS pairs, htpasswd and token files, the admin
// token).
#include <cstdint>
#include <filesystem>
#include <optional>

namespace regcache::core {

struct file_stamp {
  std::uint64_t device = 0, inode = 0, size = 0;
  std::int64_t modified_ns = 0, changed_ns = 0;
  bool operator==(const file_stamp&) const = default;
};

// The stamp of the file `path` names now: stat, not lstat, so the atomic
// ..data symlink swap of a Kubernetes Secret volume shows as a new file.
// nullopt for an empty path or one that cannot be stat()ed.
[[nodiscard]] std::optional<file_stamp> stamp_of(const std::filesystem::path& path);

}  // namespace regcache::core
