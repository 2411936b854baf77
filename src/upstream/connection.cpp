#include "connection.hpp"

#include "regcache/upstream/errc.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <type_traits>

namespace regcache::upstream::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Registries answer with at most a 100 Continue or 103 Early Hints before the real head.
constexpr int max_interim_responses = 8;

// Capacity of a connection's read buffer: the most one socket read can bring.
constexpr std::size_t read_buffer_bytes = 256 * 1024;

std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>> make_stream(asio::any_io_executor executor,
                                                                                   asio::ssl::context* tls) {
  if (tls) {
    return std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>>(
        std::in_place_type<beast::ssl_stream<beast::tcp_stream>>, std::move(executor), *tls);
  }
  return std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>>(std::in_place_type<beast::tcp_stream>,
                                                                               std::move(executor));
}

bool is_http_error(const error_code& ec) {
  return ec.category() == beast_http::make_error_code(beast_http::error::end_of_stream).category();
}

bool is_tls_error(const error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() || ec.category() == asio::ssl::error::get_stream_category();
}

// Maps an I/O or parse error on an established connection to the module's errors.
error_code classify_transfer_error(const error_code& ec) {
  if (ec == beast::error::timeout) return errc::read_timeout;
  if (ec == beast_http::error::end_of_stream || ec == beast_http::error::partial_message ||
      ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
      ec == asio::error::connection_aborted || ec == asio::ssl::error::stream_truncated)
    return errc::connection_closed;
  if (is_http_error(ec)) return errc::protocol_error;
  if (is_tls_error(ec)) return errc::tls_failed;
  return errc::connection_closed;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Resolution runs on a resolver thread and cannot be interrupted once
// getaddrinfo started, so the coroutine waits on a timer instead and leaves a
// late resolution to finish into this shared state on its own.
struct resolve_state {
  explicit resolve_state(asio::any_io_executor executor) : resolver(executor), wake(executor) {}
  tcp::resolver resolver;
  asio::steady_timer wake;
  error_code ec;
  tcp::resolver::results_type results;
  bool done = false;
};

struct on_resolved {
  std::shared_ptr<resolve_state> state;
  void operator()(error_code ec, tcp::resolver::results_type results) const {
    state->ec = ec;
    state->results = std::move(results);
    state->done = true;
    state->wake.cancel();
  }
};

asio::awaitable<result<tcp::resolver::results_type>> resolve_until(asio::any_io_executor executor, std::string host,
                                                                   std::uint16_t port,
                                                                   std::chrono::steady_clock::time_point deadline) {
  // An address needs neither the resolver thread nor getaddrinfo.
  error_code not_an_address;
  const auto address = asio::ip::make_address(host, not_an_address);
  if (!not_an_address)
    co_return tcp::resolver::results_type::create(tcp::endpoint(address, port), host, std::to_string(port));
  auto state = std::make_shared<resolve_state>(executor);
  state->wake.expires_at(deadline);
  // The completion runs on this coroutine's executor, so it never races with the code below.
  const auto here = co_await asio::this_coro::executor;
  state->resolver.async_resolve(host, std::to_string(port), asio::bind_executor(here, on_resolved{state}));
  auto [wait_ec] = co_await state->wake.async_wait(use_tuple);
  ignore_error(wait_ec, "whether the timer fired or was cancelled, `done` tells what happened");
  if (!state->done) {
    state->resolver.cancel();
    co_return errc::connect_timeout;
  }
  if (state->ec) {
    spdlog::warn("upstream {}: cannot resolve: {}", host, state->ec.message());
    co_return errc::connect_failed;
  }
  co_return std::move(state->results);
}

}  // namespace

connection::connection(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls, std::string origin)
    : tls_(std::move(tls)),
      strand_(asio::make_strand(std::move(executor))),
      stream_(make_stream(strand_, tls_.get())),
      origin_(std::move(origin)) {
  // Beast reads at most the buffer's free capacity per call; a small buffer
  // means 512-byte reads and a syscall (plus a wake-up of every reader of a
  // fill) per half kilobyte of blob.
  buffer_.reserve(read_buffer_bytes);
}

connection::tcp_stream& connection::lowest_layer() noexcept {
  if (auto* s = std::get_if<tls_stream>(&stream_)) return beast::get_lowest_layer(*s);
  return std::get<tcp_stream>(stream_);
}

const connection::tcp_stream& connection::lowest_layer() const noexcept {
  if (const auto* s = std::get_if<tls_stream>(&stream_)) return beast::get_lowest_layer(*s);
  return std::get<tcp_stream>(stream_);
}

asio::awaitable<result<std::unique_ptr<connection>>> connection::open(asio::any_io_executor executor, endpoint ep,
                                                                      std::shared_ptr<asio::ssl::context> tls,
                                                                      std::chrono::milliseconds connect_timeout) {
  const auto deadline = clock::now() + connect_timeout;
  auto conn = std::make_unique<connection>(executor, std::move(tls), ep.origin());
  const auto ec = co_await asio::co_spawn(conn->strand_, conn->establish_here(ep, deadline), asio::use_awaitable);
  if (ec) co_return ec;
  co_return conn;
}

asio::awaitable<error_code> connection::establish_here(endpoint ep, clock::time_point deadline) {
  const auto connected = co_await connect_here(ep, deadline);
  if (connected || !tls_) co_return connected;
  co_return co_await handshake_here(ep, deadline);
}

asio::awaitable<error_code> connect_tcp(beast::tcp_stream& stream, endpoint ep,
                                        std::chrono::steady_clock::time_point deadline) {
  const auto origin = ep.origin();
  auto resolved = co_await resolve_until(stream.get_executor(), ep.host, ep.port, deadline);
  if (!resolved) {
    if (resolved.error() == errc::connect_timeout) spdlog::warn("upstream {}: name resolution timed out", origin);
    co_return resolved.error();
  }
  stream.expires_at(deadline);
  auto [ec, peer] = co_await stream.async_connect(*resolved, use_tuple);
  stream.expires_never();
  if (ec == beast::error::timeout) {
    spdlog::warn("upstream {}: connect timed out", origin);
    co_return errc::connect_timeout;
  }
  if (ec) {
    spdlog::warn("upstream {}: connect failed: {}", origin, ec.message());
    co_return errc::connect_failed;
  }
  error_code opt_ec;
  stream.socket().set_option(tcp::no_delay(true), opt_ec);
  ignore_error(opt_ec, "Nagle only costs latency");
  co_return error_code{};
}

asio::awaitable<error_code> connection::connect_here(endpoint ep, clock::time_point deadline) {
  if (auto ec = co_await connect_tcp(lowest_layer(), std::move(ep), deadline)) co_return ec;
  // take_ready() reads what the socket holds and must never block; Asio's
  // own asynchronous operations work the same either way.
  error_code ec;
  lowest_layer().socket().non_blocking(true, ec);
  if (ec) {
    spdlog::warn("upstream {}: cannot make the socket non-blocking: {}", origin_, ec.message());
    co_return errc::connect_failed;
  }
  co_return error_code{};
}

asio::awaitable<error_code> connection::handshake_here(endpoint ep, clock::time_point deadline) {
  auto& stream = std::get<tls_stream>(stream_);
  // SNI carries names only (RFC 6066 §3), never an IP literal.
  if (!is_ip_literal(ep.host) && SSL_set_tlsext_host_name(stream.native_handle(), ep.host.c_str()) != 1) {
    spdlog::warn("upstream {}: cannot set SNI", origin_);
    co_return errc::tls_failed;
  }
  if (SSL_CTX_get_verify_mode(tls_->native_handle()) != SSL_VERIFY_NONE)
    stream.set_verify_callback(asio::ssl::host_name_verification(ep.host));
  auto& tcp_layer = lowest_layer();
  tcp_layer.expires_at(deadline);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
  tcp_layer.expires_never();
  if (ec == beast::error::timeout) {
    spdlog::warn("upstream {}: TLS handshake timed out", origin_);
    co_return errc::connect_timeout;
  }
  if (ec) {
    const long verify = SSL_get_verify_result(stream.native_handle());
    if (verify == X509_V_ERR_UNSPECIFIED) {
      // What OpenSSL records when a chain it accepted fails our host name check.
      spdlog::warn("upstream {}: TLS handshake failed: the certificate is not issued for {}", origin_, ep.host);
    } else if (verify != X509_V_OK) {
      spdlog::warn("upstream {}: TLS handshake failed: certificate not trusted for {}: {}", origin_, ep.host,
                   X509_verify_cert_error_string(verify));
    } else {
      spdlog::warn("upstream {}: TLS handshake failed: {}", origin_, ec.message());
    }
    co_return errc::tls_failed;
  }
  co_return error_code{};
}

template <class Stream>
asio::awaitable<error_code> connection::exchange_on(Stream* stream, http_request msg, bool head,
                                                    std::chrono::milliseconds timeout) {
  auto& tcp_layer = beast::get_lowest_layer(*stream);
  parser_.reset();
  body_left_.reset();
  tcp_layer.expires_after(timeout);
  auto [write_ec, written] = co_await beast_http::async_write(*stream, msg, use_tuple);
  tcp_layer.expires_never();
  if (write_ec) {
    broken_ = true;
    spdlog::debug("upstream {}: writing {} {} failed: {}", origin_, msg.method_string(), msg.target(),
                  write_ec.message());
    co_return classify_transfer_error(write_ec);
  }
  for (int interim = 0;; ++interim) {
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    parser_->body_limit(boost::none);  // bodies are streamed, never held whole
    if (head) parser_->skip(true);
    tcp_layer.expires_after(timeout);
    auto [read_ec, read] = co_await beast_http::async_read_header(*stream, buffer_, *parser_, use_tuple);
    tcp_layer.expires_never();
    if (read_ec) {
      broken_ = true;
      spdlog::debug("upstream {}: reading the response to {} {} failed: {}", origin_, msg.method_string(),
                    msg.target(), read_ec.message());
      co_return classify_transfer_error(read_ec);
    }
    const unsigned status = parser_->get().result_int();
    if (status / 100 != 1) break;
    if (interim == max_interim_responses) {
      broken_ = true;
      co_return errc::protocol_error;
    }
  }
  if (!parser_->is_done() && !parser_->chunked() && parser_->content_length())
    body_left_ = *parser_->content_length();
  co_return error_code{};
}

asio::awaitable<error_code> connection::exchange(http_request msg, bool head, std::chrono::milliseconds timeout) {
  co_return co_await asio::co_spawn(strand_, exchange_here(std::move(msg), head, timeout), asio::use_awaitable);
}

asio::awaitable<error_code> connection::exchange_here(http_request msg, bool head,
                                                      std::chrono::milliseconds timeout) {
  if (auto* s = std::get_if<tls_stream>(&stream_)) co_return co_await exchange_on(s, std::move(msg), head, timeout);
  co_return co_await exchange_on(&std::get<tcp_stream>(stream_), std::move(msg), head, timeout);
}

template <class Stream>
asio::awaitable<result<std::size_t>> connection::read_body_on(Stream* stream, std::span<std::byte> buf,
                                                              std::chrono::milliseconds timeout) {
  auto& tcp_layer = beast::get_lowest_layer(*stream);
  tcp_layer.expires_after(timeout);
  std::size_t produced = 0;
  // A read may yield framing only (a chunk header); keep going until body bytes or the end.
  while (produced == 0 && !parser_->is_done()) {
    auto& body = parser_->get().body();
    body.data = buf.data();
    body.size = buf.size();
    body.more = true;
    auto [ec, n] = co_await beast_http::async_read_some(*stream, buffer_, *parser_, use_tuple);
    produced = buf.size() - body.size;
    if (ec == beast_http::error::need_buffer) ec = {};  // the caller's buffer is full: a normal stop
    if (ec) {
      tcp_layer.expires_never();
      broken_ = true;
      spdlog::debug("upstream {}: reading a response body failed: {}", origin_, ec.message());
      co_return classify_transfer_error(ec);
    }
  }
  tcp_layer.expires_never();
  co_return produced;
}

void connection::consumed_body(std::size_t n) noexcept { *body_left_ -= n; }

result<std::size_t> connection::take_ready(std::span<std::byte> buf) {
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), *body_left_));
  std::size_t got = 0;
  if (buffer_.size() > 0) {
    got = asio::buffer_copy(asio::buffer(buf.data(), want), buffer_.data());
    buffer_.consume(got);
  }
  if (auto* plain = std::get_if<tcp_stream>(&stream_)) {
    auto& socket = plain->socket();
    while (got < want) {
      error_code ec;
      const auto n = socket.read_some(asio::buffer(buf.data() + got, want - got), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) {
        broken_ = true;  // bytes taken before the error still count; the next read reports it
        spdlog::debug("upstream {}: reading a response body failed: {}", origin_, ec.message());
        if (got == 0) return classify_transfer_error(ec);
        break;
      }
      got += n;
    }
  }
  consumed_body(got);
  return got;
}

template <class Stream>
asio::awaitable<result<std::size_t>> connection::read_sized_body_on(Stream* stream, std::span<std::byte> buf,
                                                                    std::chrono::milliseconds timeout) {
  auto& tcp_layer = beast::get_lowest_layer(*stream);
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), *body_left_));
  // One deadline for this call: the wait for the first byte, and on TLS the
  // records read after it, which are at hand already.
  tcp_layer.expires_after(timeout);
  std::size_t produced = 0;
  for (;;) {
    auto [ec, n] = co_await stream->async_read_some(asio::buffer(buf.data() + produced, want - produced), use_tuple);
    if (ec) {
      tcp_layer.expires_never();
      broken_ = true;
      spdlog::debug("upstream {}: reading a response body failed: {}", origin_, ec.message());
      if (produced > 0) break;
      co_return classify_transfer_error(ec);
    }
    produced += n;
    consumed_body(n);
    // Whatever more is at hand joins this piece: fewer, fuller pieces mean
    // fewer hand-offs to the hashing pool and fewer wake-ups of readers.
    error_code available_ec;
    bool at_hand = tcp_layer.socket().available(available_ec) > 0;
    if constexpr (std::is_same_v<Stream, tls_stream>) at_hand = at_hand || SSL_pending(stream->native_handle()) > 0;
    if (produced < want && at_hand) continue;
    break;
  }
  tcp_layer.expires_never();
  if (broken_ || produced == want) co_return produced;
  auto more = take_ready(buf.subspan(produced, want - produced));
  co_return produced + (more ? *more : 0);
}

asio::awaitable<result<std::size_t>> connection::read_body(std::span<std::byte> buf,
                                                           std::chrono::milliseconds timeout) {
  if (broken_) co_return errc::connection_closed;
  if (!parser_ || body_done()) co_return std::size_t{0};
  if (body_left_) {
    // Bytes at hand need neither the strand nor a timer.
    auto ready = take_ready(buf);
    if (!ready || *ready > 0) co_return ready;
  }
  co_return co_await asio::co_spawn(strand_, read_body_here(buf, timeout), asio::use_awaitable);
}

asio::awaitable<result<std::size_t>> connection::read_body_here(std::span<std::byte> buf,
                                                                std::chrono::milliseconds timeout) {
  if (auto* s = std::get_if<tls_stream>(&stream_)) {
    if (body_left_) co_return co_await read_sized_body_on(s, buf, timeout);
    co_return co_await read_body_on(s, buf, timeout);
  }
  auto* plain = &std::get<tcp_stream>(stream_);
  if (body_left_) co_return co_await read_sized_body_on(plain, buf, timeout);
  co_return co_await read_body_on(plain, buf, timeout);
}

unsigned connection::status() const { return parser_->get().result_int(); }

field_list connection::fields() const {
  field_list out;
  for (const auto& f : parser_->get()) out.emplace_back(std::string(f.name_string()), std::string(f.value()));
  return out;
}

std::optional<std::uint64_t> connection::content_length() const {
  const auto length = parser_->content_length();
  if (!length) return std::nullopt;
  return *length;
}

bool connection::body_done() const {
  if (body_left_) return *body_left_ == 0;
  return parser_ && parser_->is_done();
}

bool connection::got_response_bytes() const { return buffer_.size() > 0 || (parser_ && parser_->got_some()); }

bool connection::reusable() const {
  return !broken_ && parser_ && body_done() && parser_->keep_alive() && buffer_.size() == 0 &&
         lowest_layer().socket().is_open();
}

bool connection::peer_closed_while_idle() {
  // An idle HTTP/1.1 connection has nothing to read: readable means EOF, a
  // reset, or bytes nobody asked for. None of these can carry a new exchange.
  pollfd p{};
  p.fd = lowest_layer().socket().native_handle();
  p.events = POLLIN;
  return ::poll(&p, 1, 0) != 0;
}

}  // namespace regcache::upstream::detail
