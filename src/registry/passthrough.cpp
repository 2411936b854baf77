#include "regcache/registry/passthrough.hpp"

#include "regcache/cache/errc.hpp"
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

std::string blob_target(const uncached_blob& blob) { return "/v2/" + blob.repository + "/blobs/" + blob.digest.str(); }

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
asio::awaitable<error_code> relay(http::exchange& ex, upstream::response& from, std::uint64_t length,
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

asio::awaitable<result<upstream::response>> get_whole(const uncached_blob& blob) {
  upstream::request req;
  req.verb = upstream::method::get;
  req.target = blob_target(blob);
  auto sent = co_await cache::send_upstream(*blob.source, *blob.metrics, std::move(req));
  if (!sent) co_return sent.error();
  if (sent->status() != 200) co_return cache::upstream_status_error(sent->status(), cache::errc::blob_unknown);
  if (!sent->content_length()) co_return cache::errc::upstream_invalid;
  co_return std::move(*sent);
}

}  // namespace

asio::awaitable<error_code> continue_uncached(http::exchange& ex, const uncached_blob& blob, std::uint64_t offset,
                                              std::uint64_t end, std::uint64_t size,
                                              const store::file_handle* already_sent) {
  spdlog::warn("request id={} digest={}: disk full, bytes {}-{} come straight from upstream {}", ex.request_id(),
               blob.digest.str(), offset, end, blob.source->name);
  // Two statements, not ?: (g++ 12 mishandles co_await temporaries there).
  result<upstream::response> from = cache::errc::upstream_unreachable;
  if (offset == 0) from = co_await get_whole(blob);
  else from = co_await cache::get_blob_from(*blob.source, *blob.metrics, blob_target(blob), offset, size);
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
  auto from = co_await get_whole(blob);
  if (!from) co_return from.error();
  const auto size = *from->content_length();
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
