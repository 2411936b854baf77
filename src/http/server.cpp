#include "regcache/http/server.hpp"

#include "connection.hpp"
#include "regcache/http/errc.hpp"
#include "regcache/metrics/registry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <mutex>
#include <random>
#include <map>
#include <tuple>
#include <unordered_set>

namespace regcache::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// What one read of a request head asks the socket for.
constexpr std::size_t read_chunk_bytes = 4096;

struct server_shared {
  server_shared(asio::any_io_executor ex, std::vector<asio::any_io_executor> w, server_options opts, handler h,
                metrics::registry& m)
      : executor(std::move(ex)), workers(std::move(w)), acceptor(executor), options(std::move(opts)), handle(std::move(h)), metrics(m),
        id_prefix(random_prefix()) {}

  static std::string random_prefix() {
    std::random_device rd;
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", rd());
    return buf;
  }

  std::string next_request_id() {
    // "<8 hex of this process>-<hex counter>": unique per process lifetime, cheap.
    static constexpr char digits[] = "0123456789abcdef";
    auto n = ++request_counter;
    char counter[16];
    int i = 16;
    do {
      counter[--i] = digits[n & 0xf];
      n >>= 4;
    } while (n != 0 || i > 10);
    std::string id;
    id.reserve(id_prefix.size() + 1 + static_cast<std::size_t>(16 - i));
    id.append(id_prefix).append(1, '-').append(counter + i, static_cast<std::size_t>(16 - i));
    return id;
  }

  // The request counter and duration histogram of a (route, status) pair.
  // Looked up once per thread: the registry's lookup takes a lock and builds
  // label strings, too much for every request.
  struct request_series {
    metrics::counter* requests;
    metrics::histogram* duration;
  };
  request_series& series_for(std::string_view route, unsigned status) {
    using key = std::tuple<const metrics::registry*, const char*, unsigned>;
    thread_local std::map<key, request_series> cache;
    const key k{&metrics, route.data(), status};
    if (auto it = cache.find(k); it != cache.end()) return it->second;
    const std::string route_label(route);
    request_series series{
        &metrics.get_counter("regcache_requests_total", "HTTP requests answered, by route and status",
                             {{"route", route_label}, {"status", std::to_string(status)}}),
        &metrics.get_histogram("regcache_request_duration_seconds", "Time to answer a request, by route",
                               {0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120}, {{"route", route_label}})};
    return cache.emplace(k, series).first->second;
  }

  void record(const exchange& ex, std::string_view method, std::string_view target,
              std::chrono::steady_clock::duration took) {
    const double seconds = std::chrono::duration<double>(took).count();
    auto& series = series_for(ex.route(), ex.status());
    series.requests->inc();
    series.duration->observe(seconds);
    if (options.access_log) {
      spdlog::info("request id={} method={} path={} status={} bytes={} duration_ms={:.3f} cache={}{}",
                   ex.request_id(), method, target, ex.status(), ex.body_bytes(), seconds * 1000.0,
                   ex.cache_outcome(), ex.aborted() ? " aborted=true" : "");
    }
  }

  asio::any_io_executor next_worker() { return workers[next_worker_index++ % workers.size()]; }

  asio::any_io_executor executor;
  std::vector<asio::any_io_executor> workers;
  std::size_t next_worker_index = 0;  // only the accept loop touches it
  tcp::acceptor acceptor;
  server_options options;
  handler handle;
  metrics::registry& metrics;
  std::string id_prefix;
  std::atomic<std::uint64_t> request_counter{0};
  std::atomic<std::size_t> open{0};
  std::atomic<bool> draining{false};
  std::mutex connections_mutex;
  std::unordered_set<std::shared_ptr<connection>> connections;
};

// ---- connection ----------------------------------------------------------

namespace {

std::string peer_address(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return "unknown";
  char text[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET)
    return ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, text, sizeof text) ? text
                                                                                                      : "unknown";
  if (peer.ss_family == AF_INET6)
    return ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, text, sizeof text)
               ? text
               : "unknown";
  return "local";
}

}  // namespace

connection::connection(socket_type socket, std::shared_ptr<server_shared> shared)
    : stream_(std::move(socket)), write_timer_(stream_.get_executor()), shared_(std::move(shared)) {}

const server_options& connection::options() const noexcept { return shared_->options; }

void connection::close() noexcept {
  error_code ec;
  stream_.socket().shutdown(asio::socket_base::shutdown_both, ec);
  ignore_error(ec, "the peer may already be gone");
  stream_.socket().close(ec);
  ignore_error(ec, "closing is best effort");
}

void connection::close_if_idle() noexcept {
  if (idle_) close();
}

asio::awaitable<result<std::string>> connection::read_body(std::size_t limit) {
  const auto& req = parser_->get();
  if (req.chunked()) co_return make_error_code(errc::body_unsupported);
  const auto length = parser_->content_length().value_or(0);
  if (length > limit) co_return make_error_code(errc::body_too_large);
  std::string body(static_cast<std::size_t>(length), '\0');
  // The head's read may already have buffered the start of the body.
  const auto buffered = asio::buffer_copy(asio::buffer(body), buffer_.data());
  buffer_.consume(buffered);
  if (buffered < body.size()) {
    stream_.expires_after(options().read_timeout);
    auto [ec, n] = co_await asio::async_read(stream_, asio::buffer(body.data() + buffered, body.size() - buffered),
                                             use_tuple);
    stream_.expires_never();
    if (ec) co_return ec;
  }
  co_return body;
}

asio::awaitable<error_code> connection::write_buffers(std::string_view a, std::string_view b, std::string_view c) {
  std::array<asio::const_buffer, 3> buffers{asio::buffer(a), asio::buffer(b), asio::buffer(c)};
  // Most responses fit in the socket's send buffer: one non-blocking write,
  // no timer, no trip through the reactor. Only the rest waits, with a timeout.
  error_code ec;
  const std::size_t total = a.size() + b.size() + c.size();
  const std::size_t written = stream_.socket().write_some(buffers, ec);
  if (!ec && written == total) co_return error_code{};
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) co_return ec;
  std::size_t skip = ec ? 0 : written;
  for (auto& buffer : buffers) {
    const auto consumed = std::min(skip, buffer.size());
    buffer += consumed;
    skip -= consumed;
  }
  stream_.expires_after(options().write_timeout);
  auto [write_ec, n] = co_await asio::async_write(stream_, buffers, use_tuple);
  stream_.expires_never();
  co_return write_ec;
}

void on_write_timeout(connection::socket_type* socket, const error_code& ec) {
  if (!ec) {
    error_code ignored;
    socket->cancel(ignored);
    ignore_error(ignored, "cancel of a closed socket is harmless");
  }
}

asio::awaitable<error_code> connection::wait_writable() {
  auto* socket = &stream_.socket();
  write_timer_.expires_after(options().write_timeout);
  write_timer_.async_wait([socket](const error_code& ec) { on_write_timeout(socket, ec); });
  auto [ec] = co_await socket->async_wait(asio::socket_base::wait_write, use_tuple);
  const bool timed_out = write_timer_.expiry() <= std::chrono::steady_clock::now();
  write_timer_.cancel();
  if (timed_out && ec) co_return make_error_code(beast::error::timeout);
  co_return ec;
}

asio::awaitable<error_code> connection::sendfile_all(int fd, std::uint64_t offset, std::uint64_t length) {
  const int out = stream_.socket().native_handle();
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

asio::awaitable<void> connection::reply_error_and_close(unsigned status, std::string_view reason) {
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                     "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
                     std::to_string(reason.size()) + "\r\n\r\n" + std::string(reason);
  auto ec = co_await write_buffers(text);
  ignore_error(ec, "the connection is closed right after");
  close();
}

asio::awaitable<bool> connection::serve_one() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
  error_code ec;
  if (buffer_.size() == 0) {
    // Waiting for the next request: the idle timeout. Once its first bytes
    // are here, the whole head must come within header_timeout: the stream's
    // expiry is one deadline for all the reads below, not a per-read timeout.
    idle_ = true;
    stream_.expires_after(options().idle_timeout);
    auto [read_ec, n] = co_await stream_.async_read_some(buffer_.prepare(read_chunk_bytes), use_tuple);
    buffer_.commit(n);
    ec = read_ec;
    idle_ = false;
  }
  if (!ec) {
    stream_.expires_after(options().header_timeout);
    auto [head_ec, n] = co_await beast_http::async_read_header(stream_, buffer_, *parser_, use_tuple);
    ec = head_ec;
  }
  stream_.expires_never();
  if (ec) {
    if (ec == beast_http::error::header_limit) {
      co_await reply_error_and_close(431, "Request Header Fields Too Large");
    } else if (ec != beast_http::error::end_of_stream && ec != asio::error::eof && ec != beast::error::timeout &&
               ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
               ec != asio::error::bad_descriptor) {
      co_await reply_error_and_close(400, "Bad Request");
    }
    co_return false;
  }

  const auto started = std::chrono::steady_clock::now();
  keep_alive_ = parser_->get().keep_alive() && !shared_->draining.load();
  exchange ex(*this, shared_->next_request_id());
  // A handler may read the body or not (the registry API never does): either
  // way the connection ends after the answer, so no unread body is taken for
  // the next request.
  if (ex.request_has_body()) keep_alive_ = false;

  std::string failure;
  try {
    co_await shared_->handle(ex);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    spdlog::error("request id={} unhandled exception: {}", ex.request_id(), failure);
    if (!ex.head_sent()) {
      response_head head{500, {{"Content-Type", "application/json"}}, std::nullopt};
      std::string body =
          R"({"errors":[{"code":"UNKNOWN","message":"internal error; see the regcache log for the request id"}]})";
      auto send_ec = co_await ex.send(std::move(head), std::move(body));
      ignore_error(send_ec, "the client may be gone");
    } else {
      ex.abort();
    }
  }
  if (!ex.complete() && !ex.aborted()) {
    // The handler stopped mid-response (client gone or an upstream failure): the
    // framing is broken, so the connection cannot be reused.
    ex.abort();
  }
  const auto target = ex.target();
  shared_->record(ex, ex.method_name(), target.substr(0, std::min<std::size_t>(target.size(), 512)),
                  std::chrono::steady_clock::now() - started);
  co_return keep_alive_ && !ex.aborted() && !shared_->draining.load();
}

asio::awaitable<void> connection::run() {
  remote_address_ = peer_address(stream_.socket().native_handle());
  error_code ec;
  stream_.socket().set_option(tcp::no_delay(true), ec);
  ignore_error(ec, "Nagle only affects latency (and a socketpair has none)");
  // Writes and sendfile try the socket directly first (see write_buffers).
  stream_.socket().non_blocking(true, ec);
  ignore_error(ec, "a blocking socket only loses the fast path");
  while (co_await serve_one()) {
  }
  close();
}

// ---- server --------------------------------------------------------------

struct server::state : server_shared {
  using server_shared::server_shared;
};

namespace {

asio::awaitable<void> run_connection(std::shared_ptr<connection> conn, std::shared_ptr<server_shared> shared) {
  try {
    co_await conn->run();
  } catch (const std::exception& e) {
    spdlog::error("connection ended by exception: {}", e.what());
  }
  {
    std::lock_guard lock(shared->connections_mutex);
    shared->connections.erase(conn);
  }
  shared->open.fetch_sub(1);
}

void start_connection(const std::shared_ptr<server_shared>& shared, connection::socket_type socket) {
  shared->open.fetch_add(1);
  auto conn = std::make_shared<connection>(std::move(socket), shared);
  {
    std::lock_guard lock(shared->connections_mutex);
    shared->connections.insert(conn);
  }
  asio::co_spawn(conn->executor(), run_connection(conn, shared), asio::detached);
}

asio::awaitable<void> accept_loop(std::shared_ptr<server_shared> shared) {
  for (;;) {
    auto [ec, socket] = co_await shared->acceptor.async_accept(shared->next_worker(), use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !shared->acceptor.is_open()) co_return;
      // EMFILE and friends: log and keep accepting rather than die.
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    if (shared->open.load() >= shared->options.max_connections) {
      spdlog::warn("connection refused: server.max_connections ({}) reached", shared->options.max_connections);
      socket.close(ec);
      ignore_error(ec, "refusing a connection");
      continue;
    }
    start_connection(shared, connection::socket_type(std::move(socket)));
  }
}

}  // namespace

server::server(asio::any_io_executor executor, std::vector<asio::any_io_executor> workers, server_options options,
               handler h, metrics::registry& metrics)
    : state_(std::make_shared<state>(std::move(executor), std::move(workers), std::move(options), std::move(h),
                                     metrics)) {}

server::~server() = default;

error_code server::listen() {
  error_code ec;
  const auto address = asio::ip::make_address(state_->options.address, ec);
  if (ec) return ec;
  const tcp::endpoint ep(address, state_->options.port);
  state_->acceptor.open(ep.protocol(), ec);
  if (ec) return ec;
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return ec;
  state_->acceptor.bind(ep, ec);
  if (ec) return ec;
  state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

std::uint16_t server::port() const noexcept {
  error_code ec;
  const auto ep = state_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void server::start() { asio::co_spawn(state_->executor, accept_loop(state_), asio::detached); }

void server::serve(asio::generic::stream_protocol::socket stream) { start_connection(state_, std::move(stream)); }

void server::drain() {
  if (state_->draining.exchange(true)) return;
  std::lock_guard lock(state_->connections_mutex);
  for (const auto& conn : state_->connections)
    asio::post(conn->executor(), [conn] { conn->close_if_idle(); });
}

bool server::draining() const noexcept { return state_->draining.load(); }

std::size_t server::open_connections() const noexcept { return state_->open.load(); }

asio::awaitable<std::size_t> server::wait_drained(std::chrono::milliseconds grace) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (state_->open.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(50));
    auto [ec] = co_await timer.async_wait(use_tuple);
    ignore_error(ec, "the poll continues either way");
  }
  co_return state_->open.load();
}

}  // namespace regcache::http
