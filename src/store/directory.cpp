#include "directory.hpp"

#include "regcache/store/errc.hpp"

#include <system_error>

namespace regcache::store {

result<std::vector<std::filesystem::directory_entry>> list_dir(const std::filesystem::path& dir) {
  std::vector<std::filesystem::directory_entry> entries;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return entries;
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) entries.push_back(*it);
  if (ec) return error_from_errno(ec.value());
  return entries;
}

}  // namespace regcache::store
