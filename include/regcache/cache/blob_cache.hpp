#pragma once
// Blobs by digest, pulled through: a committed file when the cache has it and
// the repository is known to hold it, otherwise the shared fill that is
// downloading it. Handlers see one interface and never branch
// on "is this proxied".
//
// Thread-safety: all members may be called from any thread.
#include "regcache/cache/context.hpp"
#include "regcache/cache/fill_coordinator.hpp"
#include "regcache/cache/upstream_source.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <variant>

namespace regcache::cache {

struct committed_blob {
  std::shared_ptr<store::file_handle> file;
  std::uint64_t size = 0;
};

struct opened_blob {
  // A committed file, or the fill that streams it.
  std::variant<committed_blob, std::shared_ptr<fill>> source;
  const char* outcome = "hit";  // "hit" | "miss"
};

struct blob_stat {
  std::uint64_t size = 0;
  bool cached = false;
};

class blob_cache {
 public:
  blob_cache(context ctx, fill_coordinator& fills) : ctx_(std::move(ctx)), fills_(fills) {}

  // For GET: errors are cache::errc (blob_unknown, upstream_*, storage_failed).
  boost::asio::awaitable<result<opened_blob>> open(std::shared_ptr<const upstream_source> source,
                                                   std::string repository, core::digest digest);
  // For HEAD: never starts a download; a miss is answered from an upstream HEAD.
  boost::asio::awaitable<result<blob_stat>> stat(std::shared_ptr<const upstream_source> source,
                                                 std::string repository, core::digest digest);

 private:
  // Checks (and records) that `repository` holds `digest` upstream before
  // cached content is served under its name.
  boost::asio::awaitable<result<std::optional<std::uint64_t>>> check_link(
      std::shared_ptr<const upstream_source> source, std::string repository, core::digest digest);
  std::optional<committed_blob> lookup(const core::digest& digest);

  context ctx_;
  fill_coordinator& fills_;
};

}  // namespace regcache::cache
