#include "regcache/cache/blob_body.hpp"

#include "regcache/cache/errc.hpp"
#include "regcache/store/errc.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

namespace regcache::cache {
namespace asio = boost::asio;

namespace {

constexpr std::size_t relay_chunk = 256 * 1024;

// Hashes bytes [0, length) of a file.
bool hash_prefix(const store::file_handle& file, std::uint64_t length, core::hasher& h) {
  std::vector<std::byte> buf(relay_chunk);
  for (std::uint64_t at = 0; at < length;) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - at));
    auto n = file.pread(std::span<std::byte>(buf.data(), want), at);
    if (!n || *n == 0) return false;
    h.update(std::span<const std::byte>(buf.data(), *n));
    at += *n;
  }
  return true;
}

}  // namespace

std::uint64_t length_of(const body_piece& piece) noexcept {
  if (const auto* segment = std::get_if<file_segment>(&piece)) return segment->length;
  return std::get<std::span<const std::byte>>(piece).size();
}

struct blob_body::relay_state {
  std::optional<upstream::blob_stream> stream;
  std::uint64_t at = 0;
  std::optional<core::hasher> verify;
  std::vector<std::byte> buffer = std::vector<std::byte>(relay_chunk);
};

blob_body::blob_body(body_origin origin, mode m) : origin_(std::move(origin)), mode_(m) {}
blob_body::blob_body(blob_body&&) noexcept = default;
blob_body& blob_body::operator=(blob_body&&) noexcept = default;
blob_body::~blob_body() = default;

blob_body blob_body::committed(body_origin origin, std::shared_ptr<store::file_handle> file, std::uint64_t size) {
  blob_body body(std::move(origin), mode::committed);
  body.file_ = std::move(file);
  body.size_ = size;
  return body;
}

blob_body blob_body::filling(body_origin origin, std::shared_ptr<fill> f, const fill::snapshot& started) {
  blob_body body(std::move(origin), mode::filling);
  body.file_ = f->file();
  body.size_ = started.size;
  body.fill_ = std::move(f);
  return body;
}

asio::awaitable<result<blob_body>> blob_body::relayed(body_origin origin, std::optional<std::uint64_t> size) {
  blob_body body(std::move(origin), mode::relayed);
  body.size_ = size;
  if (!size)
    if (auto ec = co_await body.open_relay(0)) co_return ec;
  co_return std::move(body);
}

asio::awaitable<result<body_piece>> blob_body::read(std::uint64_t offset, std::uint64_t max_length) {
  result<body_piece> piece = body_piece{};
  if (mode_ == mode::committed) {
    const auto left = offset < *size_ ? *size_ - offset : 0;
    piece = body_piece{file_segment{file_->fd(), offset, std::min(left, max_length)}};
  } else if (mode_ == mode::filling) {
    piece = co_await read_filling(offset, max_length);
  } else {
    piece = co_await read_relayed(offset, max_length);
  }
  if (!piece) co_return piece;
  const auto n = length_of(*piece);
  if (in_order_ && *in_order_ == offset) *in_order_ += n;
  else if (n > 0) in_order_.reset();
  (mode_ == mode::committed ? origin_.metrics->bytes_from_cache : origin_.metrics->bytes_from_upstream).inc(n);
  co_return piece;
}

asio::awaitable<result<body_piece>> blob_body::read_filling(std::uint64_t offset, std::uint64_t max_length) {
  const auto deadline = origin_.clock->now() + origin_.stall_limit;
  const auto seen = co_await fill_->wait_servable_beyond(offset, deadline, *origin_.clock);
  if (!seen) {
    spdlog::warn("digest={}: no new byte arrived from upstream {} within {} s: giving up on this reader",
                 origin_.digest.str(), origin_.source->name,
                 std::chrono::duration_cast<std::chrono::seconds>(origin_.stall_limit).count());
    co_return errc::body_stalled;
  }
  if (seen->state == fill::phase::failed) {
    if (seen->error != store::errc::no_space || !seen->size) co_return seen->error;
    mode_ = mode::relayed;
    size_ = seen->size;
    co_return co_await read_relayed(offset, max_length);
  }
  if (seen->servable > offset) {
    if (!file_) file_ = fill_->file();
    const auto length = std::min(seen->servable - offset, max_length);
    co_return body_piece{file_segment{file_->fd(), offset, length}};
  }
  // Whole, and nothing beyond `offset`: the end, unless the upstream
  // announced more than it sent.
  if (size_ && offset < *size_) co_return errc::upstream_invalid;
  co_return body_piece{};
}

asio::awaitable<result<body_piece>> blob_body::read_relayed(std::uint64_t offset, std::uint64_t max_length) {
  if (offset >= *size_) co_return body_piece{};
  if (!relay_ || !relay_->stream || relay_->at != offset)
    if (auto ec = co_await open_relay(offset)) co_return ec;
  auto& relay = *relay_;
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>({relay.buffer.size(), max_length, *size_ - offset}));
  const auto n = co_await relay.stream->read_some(std::span<std::byte>(relay.buffer.data(), want));
  if (!n || *n == 0) {
    relay.stream.reset();
    // A body that ends early is shorter than the upstream announced.
    co_return n ? error_code(errc::upstream_invalid) : error_code(errc::upstream_unreachable);
  }
  relay.at += *n;
  origin_.metrics->upstream_bytes.inc(*n);
  const std::span<const std::byte> piece(relay.buffer.data(), *n);
  if (relay.verify) {
    relay.verify->update(piece);
    // The last byte is handed out only with a matching digest.
    if (relay.at == *size_ && relay.verify->finish() != origin_.digest) {
      relay.stream.reset();
      origin_.metrics->digest_mismatches.inc();
      spdlog::error("upstream={} repository={} sent bytes that do not match digest={} (uncached)",
                    origin_.source->name, origin_.repository, origin_.digest.str());
      co_return errc::digest_mismatch;
    }
  }
  co_return body_piece{piece};
}

asio::awaitable<error_code> blob_body::open_relay(std::uint64_t offset) {
  if (!relay_) relay_ = std::make_unique<relay_state>();
  auto& relay = *relay_;
  relay.stream.reset();
  relay.verify.reset();
  spdlog::warn("digest={}: disk full, bytes from {} on come straight from upstream {}", origin_.digest.str(), offset,
               origin_.source->name);
  auto sent = co_await origin_.source->registry->get_blob(origin_.repository, origin_.digest, offset);
  if (!sent) co_return from_upstream(sent.error(), errc::blob_unknown);
  // Only a stream of the blob's known size can continue what the client got.
  if (!sent->size() || (size_ && *sent->size() != *size_)) co_return errc::upstream_invalid;
  size_ = sent->size();
  relay.stream.emplace(std::move(*sent));
  relay.at = offset;
  if (in_order_ && *in_order_ == offset) {
    relay.verify.emplace(origin_.digest.alg());
    // The client holds [0, offset) already, read from the fill's temp file.
    if (offset > 0 && (!file_ || !hash_prefix(*file_, offset, *relay.verify))) {
      relay.stream.reset();
      co_return errc::storage_failed;
    }
  }
  co_return error_code{};
}

}  // namespace regcache::cache
