#pragma once
// Blobs by digest, pulled through: a body read from the committed file when
// the cache has the blob and the repository is known to hold it, otherwise
// from the shared fill that is downloading it, or straight from the upstream
// when the disk is full (blob_body.hpp). Handlers see one interface and never
// branch on "is this proxied".
//
// Before cached content is served under a repository's name, the upstream
// must have confirmed that this repository holds the digest (a link row): a
// blob cached via repository A is not served under B on the strength of A.
//
// Thread-safety: all members may be called from any thread.
#include "regcache/cache/blob_body.hpp"
#include "regcache/cache/context.hpp"
#include "regcache/cache/fill_coordinator.hpp"
#include "regcache/cache/upstream_source.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace regcache::cache {

struct blob_stat {
  std::uint64_t size = 0;
  bool cached = false;
};

class blob_cache {
 public:
  // A reader of a downloading blob gives up after `stall_limit` without a
  // new servable byte (the server's write timeout).
  blob_cache(context ctx, fill_coordinator& fills, std::chrono::milliseconds stall_limit)
      : ctx_(std::move(ctx)), fills_(fills), stall_limit_(stall_limit) {}

  // For GET: the body, once its size is known if the upstream announced it
  // (a miss waits for the upstream's answer). Errors are cache::errc
  // (blob_unknown, upstream_*, storage_failed).
  [[nodiscard]] boost::asio::awaitable<result<blob_body>> open(std::shared_ptr<const upstream_source> source,
                                                   std::string repository, core::digest digest);
  // For HEAD: never starts a download; a miss is answered from an upstream HEAD.
  [[nodiscard]] boost::asio::awaitable<result<blob_stat>> stat(std::shared_ptr<const upstream_source> source,
                                                 std::string repository, core::digest digest);

 private:
  // Checks (and records) that `repository` holds `digest` upstream before
  // cached content is served under its name.
  boost::asio::awaitable<result<std::optional<std::uint64_t>>> check_link(
      std::shared_ptr<const upstream_source> source, std::string repository, core::digest digest);
  struct committed_blob {
    std::shared_ptr<store::file_handle> file;
    std::uint64_t size = 0;
  };
  std::optional<committed_blob> lookup(const core::digest& digest);

  context ctx_;
  fill_coordinator& fills_;
  std::chrono::milliseconds stall_limit_;
};

}  // namespace regcache::cache
