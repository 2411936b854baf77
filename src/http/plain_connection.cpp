#include "connection.hpp"
#include "connection_io.hpp"
#include "server_shared.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <sys/sendfile.h>

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace regcache::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

plain_connection::plain_connection(socket_type socket, std::shared_ptr<server_shared> shared)
    : connection(std::move(shared)),
      socket_(std::move(socket)),
      write_timer_(socket_.get_executor()) {}

void plain_connection::close() noexcept {
  error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_both, ec);
  ignore_error(ec, "the peer may already be gone");
  socket_.close(ec);
  ignore_error(ec, "closing is best effort");
}

asio::awaitable<bool> plain_connection::start() {
  remote_address_ = peer_address(socket_.native_handle());
  error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  ignore_error(ec, "Nagle only affects latency (and a socketpair has none)");
  // Writes and sendfile try the socket directly first (see write_buffers).
  socket_.non_blocking(true, ec);
  ignore_error(ec, "a blocking socket only loses the fast path");
  co_return true;
}

asio::awaitable<error_code> plain_connection::read_some(clock::time_point deadline) {
  read_deadline_.begin(deadline, weak_from_this());
  // Asio reads at once only when the socket may have become readable since
  // its last read: no read that is sure to fail after every response.
  auto [ec, n] = co_await socket_.async_read_some(buffer_.prepare(read_chunk_bytes), use_tuple);
  buffer_.commit(n);
  read_deadline_.end();
  co_return ec;
}

// Prior knowledge (RFC 9113 3.3): an HTTP/2 client starts with the preface,
// which no HTTP/1.1 request line can begin with.
asio::awaitable<bool> plain_connection::speaks_h2() {
  idle_ = true;
  auto deadline = clock::now() + options().idle_timeout;
  for (;;) {
    const auto have = buffer_.size();
    const auto compared = std::min(have, h2_client_preface.size());
    if (compared > 0 && std::memcmp(buffer_.data().data(), h2_client_preface.data(), compared) != 0) break;
    if (have >= h2_client_preface.size()) break;
    if (auto ec = co_await read_some(deadline)) {
      // Nothing more comes: the HTTP/1.1 path sees the same end.
      close();
      break;
    }
    if (have == 0) deadline = clock::now() + options().header_timeout;
  }
  idle_ = false;
  co_return buffer_.size() >= h2_client_preface.size() &&
      std::memcmp(buffer_.data().data(), h2_client_preface.data(), h2_client_preface.size()) == 0;
}

asio::awaitable<error_code> plain_connection::write_buffers(std::string_view a, std::string_view b,
                                                            std::string_view c) {
  std::array<asio::const_buffer, 3> buffers{asio::buffer(a), asio::buffer(b), asio::buffer(c)};
  // Most responses fit in the socket's send buffer: one non-blocking write,
  // no timer, no trip through the reactor. Only the rest waits, write_timeout
  // at most for each wait (a slow but moving reader is never cut).
  std::size_t left = a.size() + b.size() + c.size();
  for (;;) {
    error_code ec;
    const std::size_t written = socket_.write_some(buffers, ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) co_return ec;
    if (!ec) {
      left -= written;
      if (left == 0) co_return error_code{};
      std::size_t skip = written;
      for (auto& buffer : buffers) {
        const auto consumed = std::min(skip, buffer.size());
        buffer += consumed;
        skip -= consumed;
      }
    }
    if (auto wait_ec = co_await wait_writable()) co_return wait_ec;
  }
}

asio::awaitable<error_code> plain_connection::wait_writable() {
  auto* socket = &socket_;
  write_timer_.expires_after(options().write_timeout);
  write_timer_.async_wait([socket](const error_code& ec) { cancel_on_expiry(socket, ec); });
  auto [ec] = co_await socket->async_wait(asio::socket_base::wait_write, use_tuple);
  const bool timed_out = write_timer_.expiry() <= std::chrono::steady_clock::now();
  write_timer_.cancel();
  if (timed_out && ec) co_return make_error_code(beast::error::timeout);
  co_return ec;
}

// The prefix is sent with MSG_MORE: the kernel holds it back to go out in
// one segment with the file's first bytes, as TCP_CORK would.
asio::awaitable<error_code> plain_connection::send_prefixed_file(std::string_view prefix, int fd,
                                                                 std::uint64_t offset, std::uint64_t length) {
  const ssize_t sent = ::send(socket_.native_handle(), prefix.data(), prefix.size(),
                              MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    co_return error_code(errno, boost::system::system_category());
  const auto done = static_cast<std::size_t>(std::max<ssize_t>(sent, 0));
  if (done < prefix.size()) {
    if (auto ec = co_await write_buffers(prefix.substr(done), {}, {})) co_return ec;
  }
  co_return co_await send_file(fd, offset, length);
}

// sendfile(2): no copy through user space.
asio::awaitable<error_code> plain_connection::send_file(int fd, std::uint64_t offset, std::uint64_t length) {
  const int out = socket_.native_handle();
  while (length > 0) {
    off_t off = static_cast<off_t>(offset);
    const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(length, 1u << 30));
    const ssize_t n = ::sendfile(out, fd, &off, chunk);
    if (n > 0) {
      offset += static_cast<std::uint64_t>(n);
      length -= static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) co_return make_error_code(asio::error::eof);  // file shorter than promised
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) co_return error_code(errno, boost::system::system_category());
    if (auto ec = co_await wait_writable()) co_return ec;
  }
  co_return error_code{};
}

}  // namespace regcache::http
