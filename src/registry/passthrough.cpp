#include "regcache/registry/passthrough.hpp"

#include "regcache/cache/errc.hpp"
#include "regcache/cache/upstream_source.hpp"
#include "regcache/core/hasher.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace regcache::registry {
namespace asio = boost::asio;

namespace {

constexpr std::size_t relay_chunk = 256 * 1024;

// Hashes bytes [0, length) of a file the client already received.
bool hash_prefix(const store::file_handle& file, std::uint64_t length, core::hasher& h) {
  std::vector<std::byte> buf(relay_chunk);
  std::uint64_t at = 0;
  while (at < length) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - at));
    const auto n = ::pread(file.fd(), buf.data(), want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    h.update(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
    at += static_cast<std::uint64_t>(n);
  }
  return true;
}

// Copies `length` body bytes from the upstream to the client. With `verify`,
// the last piece waits until the digest over everything matched.
asio::awaitable<error_code> relay(http::exchange& ex, upstream::blob_stream& from, std::uint64_t length,
                                  core::hasher* verify, const uncached_blob& blob) {
  std::vector<std::byte> buf(relay_chunk);
  std::vector<std::byte> held;
  for (std::uint64_t left = length; left > 0;) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), left));
    auto n = co_await from.read_some(std::span<std::byte>(buf.data(), want));
    if (!n) co_return cache::errc::upstream_unreachable;
    if (*n == 0) co_return cache::errc::upstream_invalid;  // shorter than it announced
    left -= *n;
    const std::span<const std::byte> piece(buf.data(), *n);
    blob.metrics->upstream_bytes.inc(*n);
    if (!verify) {
      if (auto ec = co_await ex.write(piece)) co_return ec;
      continue;
    }
    verify->update(piece);
    if (!held.empty())
      if (auto ec = co_await ex.write(std::span<const std::byte>(held))) co_return ec;
    held.assign(piece.begin(), piece.end());
  }
  if (verify) {
    if (verify->finish() != blob.digest) {
      blob.metrics->digest_mismatches.inc();
      spdlog::error("upstream={} repository={} sent bytes that do not match digest={} (uncached)",
                    blob.source->name, blob.repository, blob.digest.str());
      co_return cache::errc::digest_mismatch;
    }
    if (!held.empty())
      if (auto ec = co_await ex.write(std::span<const std::byte>(held))) co_return ec;
  }
  co_return error_code{};
}

// Bytes [offset, end) of the blob from the upstream; only a stream of the
// blob's known `size` (when given) can continue what the client got.
asio::awaitable<result<upstream::blob_stream>> get_from(const uncached_blob& blob, std::uint64_t offset,
                                                        std::optional<std::uint64_t> size) {
  auto sent = co_await blob.source->registry->get_blob(blob.repository, blob.digest, offset);
  if (!sent) co_return cache::from_upstream(sent.error(), cache::errc::blob_unknown);
  if (!sent->size() || (size && sent->size() != size)) co_return cache::errc::upstream_invalid;
  co_return std::move(*sent);
}

}  // namespace

asio::awaitable<error_code> continue_uncached(http::exchange& ex, const uncached_blob& blob, std::uint64_t offset,
                                              std::uint64_t end, std::uint64_t size,
                                              const store::file_handle* already_sent) {
  spdlog::warn("request id={} digest={}: disk full, bytes {}-{} come straight from upstream {}", ex.request_id(),
               blob.digest.str(), offset, end, blob.source->name);
  // Two statements, not ?: (g++ 12 mishandles co_await temporaries there).
  auto from = co_await get_from(blob, offset, size);
  if (!from) co_return from.error();
  std::optional<core::hasher> verify;
  if (already_sent && end == size) {
    verify.emplace();
    if (!hash_prefix(*already_sent, offset, *verify)) co_return cache::errc::storage_failed;
  }
  co_return co_await relay(ex, *from, end - offset, verify ? &*verify : nullptr, blob);
}

asio::awaitable<error_code> serve_uncached(http::exchange& ex, const uncached_blob& blob, http::header_fields fields) {
  spdlog::warn("request id={} digest={}: disk full, served straight from upstream {}", ex.request_id(),
               blob.digest.str(), blob.source->name);
  auto from = co_await get_from(blob, 0, std::nullopt);
  if (!from) co_return from.error();
  const auto size = *from->size();
  fields.emplace_back("Content-Type", "application/octet-stream");
  // A named head, not a temporary inside the co_await: g++ 12 destroys such
  // temporaries twice.
  http::response_head head{200, std::move(fields), size};
  if (auto ec = co_await ex.send_head(std::move(head))) co_return ec;
  core::hasher verify;
  if (auto ec = co_await relay(ex, *from, size, &verify, blob)) co_return ec;
  co_return co_await ex.finish();
}

}  // namespace regcache::registry
