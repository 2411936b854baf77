#pragma once
// A tiny HTTP/2 cleartext (prior knowledge) server on 127.0.0.1, port 0, with
// its own io_context thread, for tests of the upstream client's h2c path: an
// nghttp2 server session per connection. A route function decides each
// answer (status, fields, body) and what goes wrong with it: a stream reset
// or a cut connection part way through the body, no answer at all, or a
// GOAWAY refusing the request. Like test_server it counts connections and
// records every request (loopback_server).
#include "regcache/core/result.hpp"
#include "unit/upstream/test_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <future>
#include <optional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace regcache::test {

// What goes wrong with an h2 answer.
enum class h2_then {
  finish,        // the whole body, END_STREAM
  reset,         // RST_STREAM(INTERNAL_ERROR) after `cut_at` body bytes
  cut,           // the TCP connection closed after `cut_at` body bytes
  stall,         // no answer at all
  refuse,        // GOAWAY whose last_stream_id is below this stream; no answer
};

struct h2_reply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  h2_then then = h2_then::finish;
  std::size_t cut_at = 0;
};

// The answer to a request, given the index of the connection it came on (0 = first).
using h2_route_function = std::function<h2_reply(const seen_request& req, std::size_t connection_index)>;

class h2_test_server : public loopback_server {
 public:
  explicit h2_test_server(h2_route_function route) : route_(std::move(route)) { start(accept_loop()); }
  ~h2_test_server() { stop(); }

 private:
  static constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

  struct stream {
    seen_request request;
    h2_reply reply;
    std::size_t sent = 0;
  };

  struct connection {
    connection(h2_test_server& s, boost::asio::ip::tcp::socket sock, std::size_t i)
        : server(s), socket(std::move(sock)), index(i) {}
    ~connection() { nghttp2_session_del(session); }
    h2_test_server& server;
    boost::asio::ip::tcp::socket socket;
    std::size_t index;
    nghttp2_session* session = nullptr;
    std::map<std::int32_t, stream> streams;
    bool cut = false;
  };

  static connection& of(void* user_data) { return *static_cast<connection*>(user_data); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
      of(user_data).streams[frame->hd.stream_id];
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t name_length,
                       const std::uint8_t* value, std::size_t value_length, std::uint8_t, void* user_data) {
    auto& conn = of(user_data);
    auto it = conn.streams.find(frame->hd.stream_id);
    if (it == conn.streams.end()) return 0;
    std::string n(reinterpret_cast<const char*>(name), name_length);
    std::string v(reinterpret_cast<const char*>(value), value_length);
    if (n == ":method") it->second.request.method = v;
    else if (n == ":path") it->second.request.target = v;
    it->second.request.fields.emplace_back(std::move(n), std::move(v));
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    auto& conn = of(user_data);
    auto& s = conn.streams.at(stream_id);
    const bool breaks = s.reply.then == h2_then::reset || s.reply.then == h2_then::cut;
    const std::size_t end = breaks ? std::min(s.reply.cut_at, s.reply.body.size()) : s.reply.body.size();
    if (s.sent == end && breaks) {
      if (s.reply.then == h2_then::reset) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      conn.cut = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    const std::size_t n = std::min(length, end - s.sent);
    std::memcpy(buf, s.reply.body.data() + s.sent, n);
    s.sent += n;
    if (s.sent == s.reply.body.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    auto& conn = of(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    auto it = conn.streams.find(frame->hd.stream_id);
    if (it == conn.streams.end()) return 0;
    auto& s = it->second;
    conn.server.remember(s.request);
    s.reply = conn.server.route_(s.request, conn.index);
    if (s.reply.then == h2_then::stall) return 0;
    if (s.reply.then == h2_then::refuse) {
      nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id - 2, NGHTTP2_NO_ERROR, nullptr, 0);
      return 0;
    }
    std::vector<std::pair<std::string, std::string>> fields{{":status", std::to_string(s.reply.status)}};
    fields.insert(fields.end(), s.reply.fields.begin(), s.reply.fields.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : fields)
      nva.push_back({reinterpret_cast<std::uint8_t*>(n.data()), reinterpret_cast<std::uint8_t*>(v.data()), n.size(),
                     v.size(), NGHTTP2_NV_FLAG_NONE});
    nghttp2_data_provider provider{};
    provider.read_callback = &read_body;
    const bool bodyless = s.request.method == "HEAD" || (s.reply.body.empty() && s.reply.then == h2_then::finish);
    nghttp2_submit_response(session, frame->hd.stream_id, nva.data(), nva.size(), bodyless ? nullptr : &provider);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t, void* user_data) {
    of(user_data).streams.erase(stream_id);
    return 0;
  }

  static nghttp2_session_callbacks* callbacks() {
    static nghttp2_session_callbacks* const table = [] {
      nghttp2_session_callbacks* cbs = nullptr;
      nghttp2_session_callbacks_new(&cbs);
      nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &on_begin_headers);
      nghttp2_session_callbacks_set_on_header_callback(cbs, &on_header);
      nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &on_frame_recv);
      nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &on_stream_close);
      return cbs;
    }();
    return table;
  }

  boost::asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec) co_return;
      const auto index = connections_++;
      boost::asio::co_spawn(ioc_, serve(std::make_shared<connection>(*this, std::move(socket), index)),
                            boost::asio::detached);
    }
  }

  // Sends what nghttp2 has queued; false once the connection is over.
  static boost::asio::awaitable<bool> flush(std::shared_ptr<connection> conn) {
    for (;;) {
      std::vector<std::uint8_t> out;
      for (;;) {
        const std::uint8_t* data = nullptr;
        const auto n = nghttp2_session_mem_send(conn->session, &data);
        if (n <= 0) break;
        out.insert(out.end(), data, data + n);
      }
      if (out.empty()) break;
      auto [ec, written] = co_await boost::asio::async_write(conn->socket, boost::asio::buffer(out), use_tuple);
      if (ec) co_return false;
    }
    if (conn->cut) co_return false;
    co_return nghttp2_session_want_read(conn->session) || nghttp2_session_want_write(conn->session);
  }

  static boost::asio::awaitable<void> serve(std::shared_ptr<connection> conn) {
    nghttp2_session_server_new(&conn->session, callbacks(), conn.get());
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, settings, 1);
    if (!co_await flush(conn)) co_return;
    std::vector<std::uint8_t> in(64 * 1024);
    for (;;) {
      auto [ec, n] = co_await conn->socket.async_read_some(boost::asio::buffer(in), use_tuple);
      if (ec) co_return;
      if (nghttp2_session_mem_recv(conn->session, in.data(), n) < 0) co_return;
      if (!co_await flush(conn)) co_return;
    }
  }

  const h2_route_function route_;
};

// run() for an io_context that never runs out of work: an h2c session keeps
// reading its connection until it closes.
template <class T>
T run_until_done(boost::asio::io_context& ioc, boost::asio::awaitable<T> task) {
  std::optional<T> out;
  auto done = boost::asio::co_spawn(ioc, store_into(std::move(task), &out), boost::asio::use_future);
  ioc.restart();
  while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    ioc.run_one_for(std::chrono::milliseconds(20));
  done.get();
  return std::move(*out);
}

}  // namespace regcache::test
