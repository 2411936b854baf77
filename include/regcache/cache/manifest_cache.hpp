#pragma once
// Manifests pulled through: tags resolve to digests (cached for the
// upstream's tag_ttl, then revalidated with a HEAD, served stale when the
// upstream cannot be reached), digests resolve to the exact bytes the
// upstream sent (kept in the index, never re-serialized).
//
// When a manifest is stored for a repository, the repository is recorded
// (links) as holding the manifest and everything it references: the
// upstream accepted that manifest in that repository, so it holds them.
//
// Thread-safety: all members may be called from any thread.
#include "regcache/cache/context.hpp"
#include "regcache/cache/errc.hpp"
#include "regcache/core/single_flight.hpp"
#include "regcache/cache/upstream_source.hpp"
#include "regcache/core/digest.hpp"

#include <boost/asio/awaitable.hpp>

#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <string>
#include <string_view>

namespace regcache::cache {

struct manifest_result {
  core::digest digest;
  std::string media_type;
  std::uint64_t size = 0;
  // Null only when the caller did not need the body and the cache did not have it.
  std::shared_ptr<const std::string> bytes;
  const char* outcome = "hit";  // "hit" | "miss" | "stale"
};

class manifest_cache {
 public:
  // `hot_bytes`: manifests kept in memory (least recently used leave first);
  // the index stays the source of truth, this only spares RocksDB reads and
  // copies on the hot path (a tag HEAD is a map lookup).
  explicit manifest_cache(context ctx, std::size_t hot_bytes = 16 * 1024 * 1024)
      : ctx_(std::move(ctx)), hot_limit_bytes_(hot_bytes) {}

  // Upstream work in progress, shared by concurrent requests (tests read it).
  std::size_t in_flight() const { return tag_flights_.in_flight() + digest_flights_.in_flight(); }

  // Drop the in-memory copy of a manifest or tag once its row left the index
  // (forgetter.hpp calls these for every removal), so memory never serves
  // what the index no longer holds. Tags naming a removed manifest are
  // removed with it (evictor, purge), each heard of on its own.
  void forget_manifest(const core::digest& digest);
  void forget_tag(std::string_view upstream, std::string_view repository, std::string_view tag);

  boost::asio::awaitable<result<manifest_result>> by_tag(std::shared_ptr<const upstream_source> source,
                                                         std::string repository, std::string tag, bool need_body);
  boost::asio::awaitable<result<manifest_result>> by_digest(std::shared_ptr<const upstream_source> source,
                                                            std::string repository, core::digest digest,
                                                            bool need_body);

 private:
  std::optional<manifest_result> lookup(const core::digest& digest);
  // GET the manifest from the upstream by tag or digest, verify and store it.
  boost::asio::awaitable<result<manifest_result>> fetch(std::shared_ptr<const upstream_source> source,
                                                        std::string repository, std::string reference,
                                                        std::optional<core::digest> expected);
  void remember_links(const upstream_source& source, const std::string& repository, const core::digest& digest,
                      const std::string& media_type, const std::string& bytes);
  boost::asio::awaitable<result<manifest_result>> fetch_tag(std::shared_ptr<const upstream_source> source,
                                                            std::string repository, std::string tag,
                                                            std::int64_t now_ms);
  boost::asio::awaitable<result<manifest_result>> revalidate(std::shared_ptr<const upstream_source> source,
                                                             std::string repository, std::string tag,
                                                             bool need_body);

  struct hot_manifest {
    std::string media_type;
    std::shared_ptr<const std::string> bytes;
    std::list<core::digest>::iterator lru;
  };
  struct hot_tag {
    core::digest digest;
    std::int64_t fetched_at_ms;
  };
  std::optional<manifest_result> hot_lookup(const core::digest& digest);
  void hot_insert(const core::digest& digest, const std::string& media_type,
                  std::shared_ptr<const std::string> bytes);
  std::optional<hot_tag> tag_lookup(const upstream_source& source, const std::string& repository,
                                    const std::string& tag);
  void tag_store(const upstream_source& source, const std::string& repository, const std::string& tag,
                 const store::tag_record& record);

  context ctx_;
  // Concurrent requests for the same tag or missing manifest share one upstream exchange.
  core::single_flight<result<manifest_result>> tag_flights_{errc::upstream_unreachable};
  core::single_flight<result<manifest_result>> digest_flights_{errc::upstream_unreachable};
  const std::size_t hot_limit_bytes_;
  std::mutex hot_mutex_;
  std::unordered_map<core::digest, hot_manifest> hot_;
  std::list<core::digest> hot_lru_;  // front = most recently used
  std::size_t hot_bytes_ = 0;
  std::unordered_map<std::string, hot_tag> hot_tags_;
};

}  // namespace regcache::cache
