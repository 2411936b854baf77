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

#include <functional>
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

// A manifest held in memory: immutable once made, shared by every request
// that answers it.
struct cached_manifest {
  core::digest digest;
  std::string media_type;
  std::shared_ptr<const std::string> bytes;
};

class manifest_cache {
 public:
  // `hot_bytes`: manifests kept in memory (least recently used leave first);
  // the index stays the source of truth, this only spares RocksDB reads and
  // copies on the hot path (a tag HEAD is a map lookup).
  explicit manifest_cache(context ctx, std::size_t hot_bytes = 16 * 1024 * 1024)
      : ctx_(std::move(ctx)), hot_limit_bytes_(hot_bytes) {}

  // Told of every manifest fetched from the upstream and stored, for the
  // first time since it was last missing from the cache (a pull or a
  // prefetch), on the fetching coroutine's thread; must return at once.
  // Set before requests are served (not synchronised).
  using stored_listener = std::function<void(const upstream_source& source, const std::string& repository,
                                             const core::digest& digest, const std::string& media_type)>;
  void on_stored(stored_listener listener) { on_stored_ = std::move(listener); }

  // Upstream work in progress, shared by concurrent requests (tests read it).
  std::size_t in_flight() const { return tag_flights_.in_flight() + digest_flights_.in_flight(); }

  // Drop the in-memory copy of a manifest or tag once its row left the index
  // (forgetter.hpp calls these for every removal), so memory never serves
  // what the index no longer holds. Tags naming a removed manifest are
  // removed with it (evictor, purge), each heard of on its own.
  void forget_manifest(const core::digest& digest);
  void forget_tag(std::string_view upstream, std::string_view repository, std::string_view tag);

  // The hot path of a pull by tag: a tag within its tag_ttl whose manifest
  // is in memory, answered without a coroutine, an index read or a copy
  // (counted as a hit, like by_tag's). Null when by_tag must decide: the tag
  // or its manifest is not in memory, the tag is due for revalidation, or the
  // repository is outside the egress lists.
  std::shared_ptr<const cached_manifest> fresh_by_tag(const upstream_source& source, std::string_view repository,
                                                      std::string_view tag);

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
    std::shared_ptr<const cached_manifest> manifest;
    std::list<core::digest>::iterator lru;
    // When record_access last heard of it: at most once a second per manifest
    // (the evictor's ages are minutes), not on every hit.
    std::int64_t access_noted_ms = 0;
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
  stored_listener on_stored_;
  // Concurrent requests for the same tag or missing manifest share one upstream exchange.
  core::single_flight<result<manifest_result>> tag_flights_{errc::upstream_unreachable};
  core::single_flight<result<manifest_result>> digest_flights_{errc::upstream_unreachable};
  const std::size_t hot_limit_bytes_;
  std::mutex hot_mutex_;
  std::unordered_map<core::digest, hot_manifest> hot_;
  std::list<core::digest> hot_lru_;  // front = most recently used
  std::size_t hot_bytes_ = 0;
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
  };
  std::unordered_map<std::string, hot_tag, key_hash, std::equal_to<>> hot_tags_;
};

}  // namespace regcache::cache
