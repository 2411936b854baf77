#pragma once
// The body of one blob GET, as blob_cache::open() hands it to the registry
// handler: the handler asks for bytes from an offset and writes the pieces it
// gets, each a segment of an open file (for sendfile) or bytes in memory.
// Where the bytes come from is the cache's business:
//
//   committed  the cached file
//   filling    the temp file of the fill downloading the blob: a read waits
//              until its bytes are servable (fill_coordinator.hpp)
//   relayed    straight from the upstream, not cached: the disk is full
//
//   committed
//   filling ──the fill finds the disk full──▶ relayed (from where the reader is)
//   relayed   (open(): the disk was full before the fill wrote a byte)
//
// The digest rule holds in every state: no client ever receives a complete
// but wrong blob. A fill releases a blob's last byte only once its digest
// matched. A relay does the same whenever the pieces read so far are
// [0, offset) in order, which is every whole-body read: it hashes that prefix
// (from the temp file when a fill wrote it), every relayed byte after it,
// and fails the read holding the last byte with errc::digest_mismatch
// instead of returning it. A read of a range that is not such a prefix
// cannot be verified and is relayed as it comes.
//
// Errors of read(): errc::body_stalled (filling, and no new byte became
// servable within the stall limit), the fill's error (upstream_*,
// digest_mismatch, storage_failed), upstream_invalid (the upstream sent less
// than it announced), digest_mismatch. After an error the response cannot
// be completed: cut it.
//
// Thread affinity: one coroutine reads a body at a time. Move-only; a piece
// stays valid until the next read() or the body's destruction.
#include "regcache/cache/context.hpp"
#include "regcache/cache/fill_coordinator.hpp"
#include "regcache/cache/upstream_source.hpp"
#include "regcache/core/digest.hpp"
#include "regcache/core/hasher.hpp"
#include "regcache/store/file_handle.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace regcache::cache {

// Bytes [offset, offset + length) of the open file `fd`.
struct file_segment {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

using body_piece = std::variant<file_segment, std::span<const std::byte>>;

std::uint64_t length_of(const body_piece& piece) noexcept;

// Where a body's blob lives upstream and what its reads may take.
struct body_origin {
  std::shared_ptr<const upstream_source> source;
  std::string repository;
  core::digest digest;
  cache_metrics* metrics = nullptr;
  const core::clock* clock = nullptr;
  // How long a read of a filling blob waits for a new servable byte.
  std::chrono::milliseconds stall_limit{300'000};
};

class blob_body {
 public:
  static blob_body committed(body_origin origin, std::shared_ptr<store::file_handle> file, std::uint64_t size);
  // `started` is the fill's snapshot once it left `starting` (not failed).
  static blob_body filling(body_origin origin, std::shared_ptr<fill> f, const fill::snapshot& started);
  // The disk was full before anything was written. Without a known size, the
  // whole blob is asked upstream at once for its Content-Length.
  [[nodiscard]] static boost::asio::awaitable<result<blob_body>> relayed(body_origin origin,
                                                                         std::optional<std::uint64_t> size);

  blob_body(blob_body&&) noexcept;
  blob_body& operator=(blob_body&&) noexcept;
  ~blob_body();

  // The blob's size; none while a fill from an upstream that did not
  // announce it is running.
  std::optional<std::uint64_t> size() const noexcept { return size_; }
  // "hit" (committed) or "miss", for the access log.
  const char* outcome() const noexcept { return mode_ == mode::committed ? "hit" : "miss"; }

  // The next bytes from `offset` on, at most `max_length` (> 0) of them;
  // fewer when only fewer are ready. An empty piece means the blob ends
  // before `offset`.
  [[nodiscard]] boost::asio::awaitable<result<body_piece>> read(std::uint64_t offset, std::uint64_t max_length);

 private:
  enum class mode { committed, filling, relayed };
  blob_body(body_origin origin, mode m);

  boost::asio::awaitable<result<body_piece>> read_filling(std::uint64_t offset, std::uint64_t max_length);
  boost::asio::awaitable<result<body_piece>> read_relayed(std::uint64_t offset, std::uint64_t max_length);
  // Asks the upstream for the blob from `offset` on and decides whether
  // what follows is verified.
  boost::asio::awaitable<error_code> open_relay(std::uint64_t offset);

  body_origin origin_;
  mode mode_;
  std::optional<std::uint64_t> size_;
  // The committed file, or the fill's temp file (also after it failed: it
  // holds the prefix a relay hashes).
  std::shared_ptr<store::file_handle> file_;
  std::shared_ptr<fill> fill_;
  // How far the pieces handed out so far cover [0, n) in order; none once a
  // read skipped or went back.
  std::optional<std::uint64_t> in_order_{0};
  // The relay: the upstream's response, where its next byte sits in the
  // blob, the running digest when verifying, and the buffer pieces point into.
  struct relay_state;
  std::unique_ptr<relay_state> relay_;
};

}  // namespace regcache::cache
