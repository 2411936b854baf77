#pragma once
// Internal to the http module: reading request heads and bodies, the same
// over every transport's stream (a socket, or an SSL stream over one).
#include "connection.hpp"
#include "regcache/http/errc.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

namespace regcache::http {

// What one read of a request head asks the socket for.
inline constexpr std::size_t read_chunk_bytes = 4096;

// The client's address ("203.0.113.7", "2001:db8::1"; "local" for a socketpair).
std::string peer_address(int fd);

// Waiting for the next request: the idle timeout. Once its first bytes are
// here, the whole head must come within header_timeout: the stream's expiry
// is one deadline for all the reads, not a per-read timeout.
template <class Stream>
boost::asio::awaitable<error_code> read_request_head(Stream& stream, boost::beast::flat_buffer& buffer,
                                                     boost::beast::http::request_parser<boost::beast::http::empty_body>& parser,
                                                     const server_options& options, bool& idle) {
  constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);
  auto& layer = boost::beast::get_lowest_layer(stream);
  error_code ec;
  if (buffer.size() == 0) {
    idle = true;
    layer.expires_after(options.idle_timeout);
    auto [read_ec, n] = co_await stream.async_read_some(buffer.prepare(read_chunk_bytes), use_tuple);
    buffer.commit(n);
    ec = read_ec;
    idle = false;
  }
  if (!ec) {
    layer.expires_after(options.header_timeout);
    auto [head_ec, n] = co_await boost::beast::http::async_read_header(stream, buffer, parser, use_tuple);
    ec = head_ec;
  }
  layer.expires_never();
  co_return ec;
}

// A Content-Length body of at most `limit` bytes (see exchange::read_body).
template <class Stream>
boost::asio::awaitable<result<std::string>> read_request_body(
    Stream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::request_parser<boost::beast::http::empty_body>& parser, const server_options& options,
    std::size_t limit) {
  if (parser.get().chunked()) co_return make_error_code(errc::body_unsupported);
  const auto length = parser.content_length().value_or(0);
  if (length > limit) co_return make_error_code(errc::body_too_large);
  std::string body(static_cast<std::size_t>(length), '\0');
  // The head's read may already have buffered the start of the body.
  const auto buffered = boost::asio::buffer_copy(boost::asio::buffer(body), buffer.data());
  buffer.consume(buffered);
  if (buffered < body.size()) {
    auto& layer = boost::beast::get_lowest_layer(stream);
    layer.expires_after(options.read_timeout);
    auto [ec, n] = co_await boost::asio::async_read(
        stream, boost::asio::buffer(body.data() + buffered, body.size() - buffered),
        boost::asio::as_tuple(boost::asio::use_awaitable));
    layer.expires_never();
    if (ec) co_return ec;
  }
  co_return body;
}

}  // namespace regcache::http
