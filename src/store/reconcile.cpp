#include "regcache/store/reconcile.hpp"

#include "directory.hpp"
#include "regcache/core/hasher.hpp"
#include "regcache/store/errc.hpp"
#include "regcache/store/file_handle.hpp"

#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string>
#include <system_error>
#include <vector>

namespace regcache::store {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 2> algorithm_dirs{"sha256", "sha512"};
// Large enough that hashing, not system calls, bounds the verification speed.
constexpr std::size_t verify_chunk = 1 << 20;

bool is_two_hex(std::string_view s) {
  return s.size() == 2 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

error_code unlink_file(const fs::path& p) {
  if (::unlink(p.c_str()) == 0 || errno == ENOENT) return {};
  return error_from_errno(errno);
}

// Hashes the file at `path`; `size` receives its length.
result<bool> content_matches(const fs::path& path, const core::digest& expected, std::uint64_t& size) {
  auto file = file_handle::open_read_only(path);
  if (!file) return result<bool>(boost::system::in_place_error, file.error());
  core::hasher hasher(expected.alg());
  std::vector<std::byte> buffer(verify_chunk);
  size = 0;
  for (;;) {
    auto n = file->pread(buffer, size);
    if (!n) return result<bool>(boost::system::in_place_error, n.error());
    if (*n == 0) break;
    hasher.update(std::span<const std::byte>(buffer.data(), *n));
    size += *n;
  }
  return hasher.finish() == expected;
}

class reconciler {
 public:
  reconciler(remover& store, std::int64_t now_ms)
      : remover_(store), blobs_(store.blobs()), idx_(store.idx()), now_ms_(now_ms) {}

  result<reconcile_report> run() {
    if (auto ec = empty_tmp()) return ec;
    auto dropped = idx_.repair();
    if (!dropped) return dropped.error();
    report_.rows_dropped += *dropped;
    if (auto ec = drop_rows_without_file()) return ec;
    if (auto ec = check_files()) return ec;
    return report_;
  }

 private:
  error_code empty_tmp() {
    auto entries = list_dir(blobs_.tmp_dir());
    if (!entries) return entries.error();
    for (const auto& entry : *entries) {
      std::error_code ec;
      fs::remove_all(entry.path(), ec);
      if (ec) return error_from_errno(ec.value());
      ++report_.temp_files_removed;
    }
    return {};
  }

  error_code drop_rows_without_file() {
    error_code failure;
    auto ec = idx_.for_each_blob([&](const core::digest& d, const blob_record& record) {
      struct stat st {};
      bool keep = false;
      // lstat: a symlink is not a blob, whatever it points to.
      if (::lstat(blobs_.blob_path(d).c_str(), &st) == 0) {
        keep = S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) == record.size;
      } else if (errno != ENOENT && errno != ENOTDIR) {
        failure = error_from_errno(errno);
        return false;
      }
      if (keep) return true;
      // Deleting while iterating is safe: the iterator reads a snapshot. The
      // file stays: check_files() verifies it and indexes it if it is sound.
      auto removed = remover_.remove_blob_row(d);
      if (!removed) {
        failure = removed.error();
        return false;
      }
      if (*removed) ++report_.rows_dropped;
      return true;
    });
    return failure ? failure : ec;
  }

  error_code check_files() {
    // Loose files directly in blobs/ are junk; foreign directories are not ours to judge.
    auto top = list_dir(blobs_.blobs_dir());
    if (!top) return top.error();
    for (const auto& entry : *top) {
      if (is_dir_entry(entry)) continue;
      if (auto ec = remove_junk(entry.path())) return ec;
    }
    for (const auto alg : algorithm_dirs) {
      auto shards = list_dir(blobs_.blobs_dir() / alg);
      if (!shards) return shards.error();
      for (const auto& shard : *shards) {
        const auto name = shard.path().filename().string();
        if (is_dir_entry(shard)) {
          if (!is_two_hex(name)) continue;
          if (auto ec = check_shard(alg, name, shard.path())) return ec;
        } else if (auto ec = remove_junk(shard.path())) {
          return ec;
        }
      }
    }
    return {};
  }

  error_code check_shard(std::string_view alg, std::string_view shard, const fs::path& dir) {
    auto entries = list_dir(dir);
    if (!entries) return entries.error();
    for (const auto& entry : *entries) {
      if (is_dir_entry(entry)) continue;
      const auto name = entry.path().filename().string();
      auto d = core::digest::parse(std::string(alg) + ":" + name);
      if (!d || !name.starts_with(shard) || !is_regular_entry(entry)) {
        if (auto ec = remove_junk(entry.path())) return ec;
        continue;
      }
      auto row = idx_.get_blob(*d);
      if (!row) return row.error();
      if (*row) continue;

      std::uint64_t size = 0;
      auto matches = content_matches(entry.path(), *d, size);
      if (!matches) return matches.error();
      if (!*matches) {
        if (auto ec = remove_junk(entry.path())) return ec;
        continue;
      }
      const blob_record record{.size = size, .media_type = {}, .created_ms = now_ms_,
                               .last_access_ms = now_ms_, .pinned = false};
      if (auto ec = idx_.put_blob(*d, record)) return ec;
      ++report_.files_indexed;
      report_.bytes_indexed += size;
    }
    return {};
  }

  error_code remove_junk(const fs::path& p) {
    if (auto ec = unlink_file(p)) return ec;
    ++report_.files_removed;
    return {};
  }

  // Neither follows symlinks: a link is junk even if it points at a directory.
  static bool is_dir_entry(const fs::directory_entry& e) {
    std::error_code ec;
    return e.symlink_status(ec).type() == fs::file_type::directory;
  }
  static bool is_regular_entry(const fs::directory_entry& e) {
    std::error_code ec;
    return e.symlink_status(ec).type() == fs::file_type::regular;
  }

  remover& remover_;
  blob_store& blobs_;
  index& idx_;
  std::int64_t now_ms_;
  reconcile_report report_;
};

}  // namespace

result<reconcile_report> reconcile(remover& store, std::int64_t now_ms) {
  return reconciler(store, now_ms).run();
}

}  // namespace regcache::store
