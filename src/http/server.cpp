#include "regcache/http/server.hpp"

#include "connection.hpp"
#include "server_shared.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <mutex>

namespace regcache::http {
namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

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
  std::shared_ptr<connection> conn;
  if (shared->options.tls_context)
    conn = std::make_shared<tls_connection>(std::move(socket), shared->options.tls_context(), shared);
  else
    conn = std::make_shared<plain_connection>(std::move(socket), shared);
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

server::~server() {
  // A connection still open when the server goes (past the drain's grace)
  // and the shared state hold each other: let go of the connections so both
  // are freed once their coroutines are.
  std::lock_guard lock(state_->connections_mutex);
  state_->connections.clear();
}

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
