#include "regcache/store/fsck.hpp"

#include "directory.hpp"
#include "regcache/core/hasher.hpp"
#include "regcache/store/errc.hpp"
#include "regcache/store/file_handle.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <system_error>

namespace regcache::store {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view algorithm_dirs[] = {"sha256", "sha512"};
// Large enough that hashing, not system calls, bounds the speed.
constexpr std::size_t read_chunk = 1 << 20;

// What is known of one digest before hashing: its row, its file, or both.
struct candidate {
  std::optional<std::uint64_t> row_size;
  std::optional<fs::path> file;
  std::uint64_t file_size = 0;
  bool regular = true;
  fs::file_time_type modified{};
};

// A file under blobs/ whose name is no digest of its directory.
struct stray_file {
  fs::path path;
  std::uint64_t size = 0;
};

error_code unlink_file(const fs::path& p) {
  if (::unlink(p.c_str()) == 0) return {};
  return errno == ENOENT ? make_error_code(errc::not_found) : error_from_errno(errno);
}

fs::file_type type_of(const fs::directory_entry& e) {
  std::error_code ec;
  return e.symlink_status(ec).type();
}

class checker {
 public:
  checker(remover& store, const fsck_options& options)
      : remover_(store), blobs_(store.blobs()), idx_(store.idx()), options_(options) {
    report_.dry_run = options.dry_run;
  }

  result<fsck_report> run() {
    const auto started = std::chrono::steady_clock::now();
    if (auto ec = collect_rows()) return ec;
    if (auto ec = collect_files()) return ec;
    for (const auto& [d, c] : candidates_) {
      if (c.file && c.regular) {
        progress_.bytes_total += c.file_size;
        ++progress_.files_total;
      }
    }
    progress_.files_total += strays_.size();
    report_progress();
    for (const auto& [d, c] : candidates_)
      if (auto ec = check(d, c)) return ec;
    for (const auto& s : strays_) {
      add_finding(fsck_problem::no_row, s.path, std::nullopt, "the name is not a digest of its directory", s.size);
      ++progress_.files_done;
      ++report_.files_checked;
      report_progress();
    }
    report_.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    return std::move(report_);
  }

 private:
  error_code collect_rows() {
    return idx_.for_each_blob([&](const core::digest& d, const blob_record& record) {
      candidates_[d].row_size = record.size;
      ++report_.rows_checked;
      return true;
    });
  }

  error_code collect_files() {
    for (const auto alg : algorithm_dirs) {
      auto shards = list_dir(blobs_.blobs_dir() / alg);
      if (!shards) return shards.error();
      for (const auto& shard : *shards) {
        const auto shard_name = shard.path().filename().string();
        if (type_of(shard) != fs::file_type::directory) {
          add_stray(shard);
          continue;
        }
        auto entries = list_dir(shard.path());
        if (!entries) return entries.error();
        for (const auto& entry : *entries) {
          const auto type = type_of(entry);
          // Directories inside a shard are not ours to judge.
          if (type == fs::file_type::directory) continue;
          const auto name = entry.path().filename().string();
          auto d = core::digest::parse(std::string(alg) + ":" + name);
          if (!d || !name.starts_with(shard_name) || shard_name.size() != 2) {
            add_stray(entry);
            continue;
          }
          auto& c = candidates_[*d];
          c.file = entry.path();
          c.regular = type == fs::file_type::regular;
          std::error_code ec;
          c.file_size = c.regular ? entry.file_size(ec) : 0;
          c.modified = entry.last_write_time(ec);
        }
      }
    }
    return {};
  }

  void add_stray(const fs::directory_entry& entry) {
    std::error_code ec;
    const auto size = type_of(entry) == fs::file_type::regular ? entry.file_size(ec) : 0;
    strays_.push_back({entry.path(), size});
  }

  error_code check(const core::digest& d, const candidate& c) {
    if (!c.file) return check_missing_file(d);
    if (!c.regular) {
      ++report_.files_checked;
      ++progress_.files_done;
      add_finding(fsck_problem::no_row, *c.file, d, "not a regular file", 0);
      return {};
    }
    if (c.row_size && *c.row_size != c.file_size) {
      // The row describes other content than the file holds: both are unusable.
      count_file_done(c.file_size, 0);
      add_finding(fsck_problem::size_mismatch, *c.file, d,
                  "index says " + std::to_string(*c.row_size) + " bytes, the file has " + std::to_string(c.file_size),
                  c.file_size);
      return {};
    }
    std::uint64_t hashed = 0;
    auto actual = hash_file(*c.file, d.alg(), hashed);
    count_file_done(c.file_size, hashed);
    if (!actual) {
      if (actual.error() == errc::not_found) return {};  // evicted meanwhile
      add_finding(fsck_problem::unreadable, *c.file, d, actual.error().message(), c.file_size);
      return {};
    }
    if (*actual != d) {
      add_finding(fsck_problem::hash_mismatch, *c.file, d, "the content hashes to " + actual->str(), c.file_size);
      return {};
    }
    if (c.row_size) return {};
    // Re-read now: the file may have been committed after the rows were read.
    auto row = idx_.get_blob(d);
    if (!row) return row.error();
    if (*row) return {};
    if (fs::file_time_type::clock::now() - c.modified < options_.unindexed_grace) return {};
    add_finding(fsck_problem::no_row, *c.file, d, "the index has no row for it", c.file_size);
    return {};
  }

  error_code check_missing_file(const core::digest& d) {
    // Eviction removes the row with the file: only a row still there is a finding.
    if (blobs_.exists(d)) return {};
    auto row = idx_.get_blob(d);
    if (!row) return row.error();
    if (!*row) return {};
    add_finding(fsck_problem::missing_file, blobs_.blob_path(d), d, "the index lists it but the file is gone", 0);
    return {};
  }

  // Hashes the whole file; `hashed` counts the bytes read. errc::not_found if it is gone.
  result<core::digest> hash_file(const fs::path& path, core::digest::algorithm alg, std::uint64_t& hashed) {
    auto file = file_handle::open_read_only(path);
    if (!file) return file.error();
    core::hasher hasher(alg);
    std::vector<std::byte> buffer(read_chunk);
    std::uint64_t since_report = 0;
    for (;;) {
      auto n = file->pread(buffer, hashed);
      if (!n) return n.error();
      if (*n == 0) break;
      hasher.update(std::span<const std::byte>(buffer.data(), *n));
      hashed += *n;
      since_report += *n;
      if (since_report >= options_.progress_interval_bytes) {
        progress_.bytes_done += since_report;
        since_report = 0;
        report_progress();
      }
    }
    progress_.bytes_done += since_report;
    return hasher.finish();
  }

  // A file is finished: progress counts exactly its size, whatever was hashed of it.
  void count_file_done(std::uint64_t size, std::uint64_t hashed) {
    progress_.bytes_done += size - std::min(size, hashed);
    ++progress_.files_done;
    ++report_.files_checked;
    report_.bytes_checked += hashed;
    report_progress();
  }

  void add_finding(fsck_problem problem, const fs::path& path, std::optional<core::digest> d, std::string detail,
                   std::uint64_t size) {
    fsck_finding f{problem, path, std::move(d), std::move(detail), false};
    if (!options_.dry_run) remove(f, size);
    report_.findings.push_back(std::move(f));
  }

  void remove(fsck_finding& f, std::uint64_t size) {
    error_code failure;
    bool file_removed = false;
    if (f.digest) {
      auto removed = remover_.remove_blob(*f.digest);
      if (!removed) {
        failure = removed.error();
      } else {
        if (removed->row_size) ++report_.rows_removed;
        file_removed = removed->file_removed;
        failure = removed->file_error;
      }
    } else if (auto ec = unlink_file(f.path); !ec) {
      file_removed = true;
    } else if (ec != errc::not_found) {
      failure = ec;
    }
    if (file_removed) {
      ++report_.files_removed;
      report_.bytes_removed += size;
    }
    f.removed = !failure;
    if (failure) f.detail += "; removing it failed: " + failure.message();
  }

  void report_progress() {
    if (options_.on_progress) options_.on_progress(progress_);
  }

  remover& remover_;
  blob_store& blobs_;
  index& idx_;
  const fsck_options& options_;
  std::map<core::digest, candidate> candidates_;
  std::vector<stray_file> strays_;
  fsck_progress progress_;
  fsck_report report_;
};

}  // namespace

std::string_view to_string(fsck_problem p) noexcept {
  switch (p) {
    case fsck_problem::hash_mismatch:
      return "hash_mismatch";
    case fsck_problem::size_mismatch:
      return "size_mismatch";
    case fsck_problem::unreadable:
      return "unreadable";
    case fsck_problem::missing_file:
      return "missing_file";
    case fsck_problem::no_row:
      return "no_row";
  }
  return "unknown";
}

result<fsck_report> fsck(remover& store, const fsck_options& options) {
  return checker(store, options).run();
}

}  // namespace regcache::store
