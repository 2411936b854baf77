#pragma once
// Blob bytes straight from the upstream to one client, not cached: what a
// client gets when the disk is full (a fill failed with no_space). The rule
// of a fill still holds for a whole body: the digest is checked over every
// byte the client gets (the part it already read from the temp file and the
// part that follows), and the last piece is held back until it matched.
#include "regcache/cache/context.hpp"
#include "regcache/cache/upstream_source.hpp"
#include "regcache/core/digest.hpp"
#include "regcache/http/exchange.hpp"
#include "regcache/store/file_handle.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace regcache::registry {

struct uncached_blob {
  std::shared_ptr<const cache::upstream_source> source;
  std::string repository;
  core::digest digest;
  cache::cache_metrics* metrics = nullptr;
};

// Writes bytes [offset, end) of the `size`-byte blob, continuing a response
// whose head (and first `offset` bytes, when verifying) went out already.
// With `already_sent` (the temp file holding bytes [0, offset) the client
// got), offset == 0 or a prefix that is the whole body so far, and end ==
// size, the digest is verified as described above; otherwise (a range) the
// bytes are passed on as they come.
boost::asio::awaitable<error_code> continue_uncached(http::exchange& ex, const uncached_blob& blob,
                                                     std::uint64_t offset, std::uint64_t end, std::uint64_t size,
                                                     const store::file_handle* already_sent);

// A whole GET answered from the upstream from the start (the disk was full
// before anything was written): sends the head, then the verified body.
boost::asio::awaitable<error_code> serve_uncached(http::exchange& ex, const uncached_blob& blob,
                                                  http::header_fields fields);

}  // namespace regcache::registry
