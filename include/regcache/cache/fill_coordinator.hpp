#pragma once
// Single flight for blob downloads: however many clients ask for the same
// missing digest at once, exactly one upstream GET runs, and every client
// reads the growing temp file it writes.
//
// A fill (one download of one digest) moves through these phases:
//
//   starting ──upstream 200 + headers──▶ streaming ──sha256 ok──▶ verified ──fsync, rename, index row──▶ committed
//      │                                     │
//      └──── upstream error / 404 ───────────┴──── broken transfer / digest mismatch ──────▶ failed
//
// A broken transfer is resumed from where it stopped (at most 3 times per
// fill, with back-off); only when that fails does the fill fail. A full disk
// fails the fill with store::errc::no_space: its readers then fetch the rest
// from the upstream themselves, uncached (blob_body.hpp), and the
// on_disk_full hook asks for an eviction. A download slower than its
// upstream's transfer floor (transfer_floor.hpp) fails with
// errc::upstream_too_slow: its readers are cut and nothing is cached.
//
// Every fill counts once in regcache_fills_total when it starts, and once
// more if it ends without a cached blob, in
// regcache_fill_failures_total{reason}: upstream_unreachable (no connection,
// or a transfer cut that could not resume), upstream_error (another upstream
// answer than the blob), not_found, digest_mismatch, too_slow, disk_full,
// storage (the temp file, the commit or the index failed).
//
// Only the fill's own coroutine (run by the coordinator on the first asker's
// I/O thread, but detached from every client) moves it forward. Readers only observe it.
// In the coordinator's table an entry for a digest is
//
//   absent ──join()──▶ filling ──committed or failed──▶ absent
//
// and the index row is written before the entry is removed, so a lookup
// always finds either the fill or the committed blob. Eviction only ever
// removes committed blobs (row, then file); a reader holding the file keeps
// reading it, and a later request simply starts a new fill.
//
// A download receives a piece while the previous one is written, offered
// to readers and hashed on context::hashing (another core): two buffers,
// one piece in flight there at a time, so bytes are hashed in order and a
// buffer is reused only once its piece is written and hashed.
//
// While streaming, readers may read up to servable bytes: everything written
// except the last byte, which is released only once the digest verified, so
// no client ever receives a complete but wrong blob. Verified content is
// served whole at once; making it durable (fsync, rename, index) happens
// after, off the clients' critical path. A failure to commit verified
// content only means it is not cached.
//
// Thread-safety: every member may be called from any thread.
#include "regcache/cache/context.hpp"
#include "regcache/cache/upstream_source.hpp"
#include "regcache/core/buffer_pool.hpp"
#include "regcache/core/clock.hpp"
#include "regcache/core/digest.hpp"
#include "regcache/core/wake_list.hpp"
#include "regcache/store/file_handle.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace regcache::cache {

class fill {
 public:
  enum class phase { starting, streaming, verified, committed, failed };
  struct snapshot {
    phase state = phase::starting;
    std::optional<std::uint64_t> size;  // from the upstream's Content-Length
    std::uint64_t written = 0;
    std::uint64_t servable = 0;
    error_code error;
    // No more changes will come: committed, failed, or verified but not cached.
    bool ended = false;
    // Every byte is verified and servable (committed or not).
    bool whole() const noexcept { return state == phase::verified || state == phase::committed; }
  };

  explicit fill(core::digest d) : digest_(std::move(d)) {}
  const core::digest& digest() const noexcept { return digest_; }
  snapshot observe() const;
  // The temp file (valid after commit and after failure); set once streaming.
  std::shared_ptr<store::file_handle> file() const;

  // Resolve once the fill left `starting`.
  boost::asio::awaitable<snapshot> wait_started();
  // Resolve once more than `offset` bytes are servable, or the fill ended;
  // nullopt when neither happened by `deadline` on `clock` (noticed within
  // core::wake_list::recheck of it).
  boost::asio::awaitable<std::optional<snapshot>> wait_servable_beyond(std::uint64_t offset,
                                                                       core::clock::time_point deadline,
                                                                       const core::clock& clock);
  // Resolve once the fill ended (snapshot.ended).
  boost::asio::awaitable<snapshot> wait_ended();

  // Driven by the fill's coroutine only.
  // The size the upstream announced, known before anything is written: a
  // fill that then finds the disk full still tells its readers the size.
  void announce_size(std::optional<std::uint64_t> size);
  void start_streaming(std::optional<std::uint64_t> size, std::shared_ptr<store::file_handle> file);
  void advance(std::uint64_t bytes);
  void verified();
  void complete();
  // Verified and served, but making it durable failed: the cache has no copy.
  void end_uncached();
  void fail(error_code ec);

 private:
  // The three things a reader waits for; one loop serves them all.
  enum class until { started, servable_beyond, ended };
  static bool reached(const snapshot& s, until what, std::uint64_t offset);
  // Without `clock`, waits however long it takes.
  boost::asio::awaitable<std::optional<snapshot>> wait(until what, std::uint64_t offset,
                                                       core::clock::time_point deadline, const core::clock* clock);
  snapshot snapshot_locked() const;
  void notify_locked();
  boost::asio::awaitable<snapshot> wait_change(std::uint64_t seen_version);

  const core::digest digest_;
  mutable std::mutex mutex_;
  phase state_ = phase::starting;
  std::optional<std::uint64_t> size_;
  std::uint64_t written_ = 0;
  error_code error_;
  bool ended_ = false;
  std::uint64_t version_ = 0;
  std::shared_ptr<store::file_handle> file_;
  core::wake_list waiters_;
};

class fill_coordinator {
 public:
  // Registers regcache_disk_full_total, regcache_fills_total and every reason
  // of regcache_fill_failures_total (at 0, so a first failure shows as an
  // increase).
  explicit fill_coordinator(context ctx);

  // Called (from the fill's thread) when a download finds the disk full;
  // main points it at the evictor. Set before the first join().
  void on_disk_full(std::function<void()> hook) { on_disk_full_ = std::move(hook); }

  // The fill for `digest`, started from `source`/`repository` if none runs;
  // a new fill runs on `executor` (the first asker's I/O thread).
  std::shared_ptr<fill> join(const core::digest& digest, std::shared_ptr<const upstream_source> source,
                             std::string repository, boost::asio::any_io_executor executor);
  std::size_t in_flight() const;

 private:
  boost::asio::awaitable<void> run(std::shared_ptr<fill> f, std::shared_ptr<const upstream_source> source,
                                   std::string repository);
  boost::asio::awaitable<error_code> download(std::shared_ptr<fill> f,
                                              std::shared_ptr<const upstream_source> source,
                                              std::string repository);
  // Writes a piece to the temp file, offers it to readers, then hashes it;
  // runs on the hashing executor while the download receives the next piece.
  static boost::asio::awaitable<error_code> store_piece(std::shared_ptr<fill> f, store::blob_writer* writer,
                                                        std::span<const std::byte> piece);
  // Commit and index a verified download; runs on the blocking executor.
  error_code persist(const core::digest& digest, store::blob_writer& writer, const upstream_source& source,
                     const std::string& repository);
  boost::asio::awaitable<error_code> persist_on_pool(core::digest digest, store::blob_writer* writer,
                                                     std::shared_ptr<const upstream_source> source,
                                                     std::string repository);
  void finish(const std::shared_ptr<fill>& f);
  // Counts, logs and reports a full disk; the fill then fails with
  // store::errc::no_space, which tells its readers to continue from the upstream.
  error_code disk_full(const core::digest& digest);

  context ctx_;
  // Two pieces per download: one is written and hashed while the next
  // arrives in the other. Kept for the next downloads: 16 cover 8 at once,
  // and the 12 prepared at start cover the 6 layers a client fetches at once.
  static constexpr std::size_t piece_bytes = 512 * 1024;
  core::buffer_pool pieces_{piece_bytes, 16, 12};
  metrics::counter& disk_full_events_;
  metrics::counter& fills_started_;
  // regcache_fill_failures_total by reason label.
  std::map<std::string_view, metrics::counter*> failures_;
  std::function<void()> on_disk_full_;
  mutable std::mutex mutex_;
  std::unordered_map<core::digest, std::shared_ptr<fill>> fills_;
};

}  // namespace regcache::cache
