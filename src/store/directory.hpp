#pragma once
// Directory listing shared by the store's walkers (reconcile, fsck).
#include "regcache/core/result.hpp"

#include <filesystem>
#include <vector>

namespace regcache::store {

// The entries of `dir`, read before anything in it is removed or hashed.
// A missing directory has no entries.
result<std::vector<std::filesystem::directory_entry>> list_dir(const std::filesystem::path& dir);

}  // namespace regcache::store
