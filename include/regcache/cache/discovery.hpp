#pragma once
// Content discovery pulled through: tag lists and referrers come from the
// upstream (they change whenever something is pushed), and every answer is
// written to the index (store::index's tag_lists and referrers families) to
// serve when the upstream cannot be reached, also after a restart and with
// the upstream offline (`offline: true`). Those rows are bounded by the
// index: the ones fetched longest ago leave first, and only when a newer
// answer is written, so an unreachable upstream never costs a stored answer.
// A remembered answer is served however old it is (max_stale bounds tags by
// which a manifest is served, not these lists): the signature gate reads
// referrers of digests, and digests never go stale.
//
// Tag lists fall back to the stored upstream list, then to the tags this
// cache has resolved for the repository (the index's tags family), so an
// offline cache lists what it can serve even for a repository never listed.
//
// Thread-safety: all members may be called from any thread. The index reads
// and writes are RocksDB point operations (unsynced writes) on the calling
// thread, as for tags.
#include "regcache/cache/context.hpp"
#include "regcache/cache/upstream_source.hpp"
#include "regcache/core/digest.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <vector>

namespace regcache::cache {

struct tag_listing {
  std::vector<std::string> tags;  // sorted
  const char* outcome = "pass";   // "pass" (fresh from upstream) | "stale"
};

struct referrers_listing {
  std::string body;  // an OCI image index
  std::string filters_applied;
  const char* outcome = "pass";
};

class discovery {
 public:
  explicit discovery(context ctx) : ctx_(std::move(ctx)) {}

  // The upstream's tag list; when it cannot be reached or fails (other than
  // 404, passed on as errc::manifest_unknown), the stored one or the resolved
  // tags, outcome "stale"; else the upstream's error.
  boost::asio::awaitable<result<tag_listing>> tags(std::shared_ptr<const upstream_source> source,
                                                   std::string repository);
  // `artifact_type` empty → unfiltered. The upstream's answer; an upstream
  // 404 (no referrers API) is passed on as errc::manifest_unknown; when it
  // cannot be reached or fails otherwise, the stored answer for the same
  // subject and filter, outcome "stale"; else the upstream's error.
  boost::asio::awaitable<result<referrers_listing>> referrers(std::shared_ptr<const upstream_source> source,
                                                              std::string repository, core::digest subject,
                                                              std::string artifact_type);

 private:
  boost::asio::awaitable<result<std::vector<std::string>>> fetch_tags(std::shared_ptr<const upstream_source> source,
                                                                      std::string repository);

  context ctx_;
};

}  // namespace regcache::cache
