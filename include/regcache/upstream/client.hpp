#pragma once
// HTTP/1.1 client for one upstream registry: a pool of keep-alive connections,
// TLS with certificate and host name verification, timeouts, and response
// bodies streamed in caller-sized pieces (a blob is never held whole).
//
//   send(request) ─▶ idle connection from the pool, or resolve+connect+TLS (connect_timeout)
//                 ─▶ write request, read response head (read_timeout each)
//                    a pooled connection the upstream closed meanwhile → once more on a fresh one
//                 ◀─ response: status + header fields; body via read_some / read_all
//   body read to the end + keep-alive ─▶ connection back to the pool (dropped after idle_timeout)
//   anything else                     ─▶ connection closed
//
// With client_options::h2c the same calls speak HTTP/2 in cleartext with prior
// knowledge instead: one connection carries every exchange as a stream, and
// is replaced when it dies or the upstream sends GOAWAY (a request the GOAWAY
// says was not processed goes once more on the new one).
//
// Anonymous only: statuses such as 401, 404 and 429 come back as responses,
// not errors. Authentication, redirects and retries are layers above send();
// request is a plain value so such a layer can copy, amend and resend it.
#include "regcache/core/result.hpp"
#include "regcache/upstream/connection_limit.hpp"
#include "regcache/upstream/errc.hpp"
#include "regcache/upstream/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regcache::upstream {

namespace detail {
class connection;
class pool;
class h2_stream;
}  // namespace detail

struct client_options {
  // Resolve + TCP connect + TLS handshake together.
  std::chrono::milliseconds connect_timeout{5000};
  // Each write of a request and each read of a response head or body piece.
  std::chrono::milliseconds read_timeout{30000};
  // Idle pooled connections older than this are closed instead of reused.
  std::chrono::milliseconds idle_timeout{30000};
  // Idle connections kept per client; the oldest is closed beyond it.
  std::size_t max_idle_connections = 32;
  // PEM bundle trusted in addition to the system's CAs (https only).
  std::string ca_file;
  // PEM client certificate chain and key for mutual TLS (https only); both or neither.
  std::string client_cert_file;
  std::string client_key_file;
  // Skips certificate and host name verification (https only). For tests and labs.
  bool insecure_skip_verify = false;
  std::string user_agent = "regcache";
  // Shared by every client of one upstream; null means no bound.
  std::shared_ptr<connection_limit> limit;
  // HTTP/2 cleartext with prior knowledge (an upstream that is another
  // regcache, upstreams[].h2c); http:// endpoints only. One connection per
  // client: give every thread the same client.
  bool h2c = false;
};

enum class method { get, head };

struct request {
  method verb = method::get;
  // Origin-form path and query ("/v2/library/alpine/manifests/latest"); the
  // endpoint's base_path is prepended by the client.
  std::string target;
  // Sent as given, in order, repeated names allowed. Host, User-Agent,
  // Accept-Encoding (identity) and Connection (keep-alive) are added unless
  // given here. Names must be HTTP tokens and values free of CR, LF and NUL.
  std::vector<std::pair<std::string, std::string>> headers;
};

// The answer of an upstream: status and header fields at once, the body as a
// stream. Move-only. Not thread-safe: one coroutine at a time reads it, on any
// executor (the socket work runs on the connection's own strand). It may
// outlive its client; its connection then closes instead of returning to the pool
// (an h2c stream keeps its connection open until it is done).
class response {
 public:
  response(response&& other) noexcept;
  response& operator=(response&& other) noexcept;
  response(const response&) = delete;
  response& operator=(const response&) = delete;
  // Returns the connection to the pool when the body was fully read and the
  // upstream allows keep-alive; otherwise closes it.
  ~response();

  unsigned status() const noexcept { return status_; }
  // The first value of a field, by case-insensitive name.
  std::optional<std::string_view> header(std::string_view name) const;
  // Every value of a field, in order (e.g. several WWW-Authenticate).
  std::vector<std::string_view> headers(std::string_view name) const;
  // All fields as received, in order.
  const std::vector<std::pair<std::string, std::string>>& fields() const noexcept { return fields_; }
  // The Content-Length of the response (of the entity, for a HEAD request).
  std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
  // True once the whole body was read; at once for HEAD, 204 and 304.
  bool body_done() const noexcept { return body_done_; }

  // Reads up to buf.size() body bytes into buf, which must be non-empty and
  // stay alive until the call completes. 0 means the body is complete. Each
  // call has the read timeout. Errors: read_timeout, connection_closed,
  // protocol_error, tls_failed, invalid_request (empty buf); after an error
  // the body cannot be continued.
  [[nodiscard]] boost::asio::awaitable<result<std::size_t>> read_some(std::span<std::byte> buf);
  // The whole (remaining) body; errc::body_too_large without reading further
  // when it is, or announces to be, longer than `limit`.
  [[nodiscard]] boost::asio::awaitable<result<std::string>> read_all(std::size_t limit);
  // Done with the body (a 401 or a redirect about to be answered by another
  // request): reads and drops a short rest so the connection goes back to
  // the pool, or closes it. The permit is returned either way; status and
  // fields stay readable, the body does not.
  boost::asio::awaitable<void> discard();

 private:
  friend class client;
  response(std::unique_ptr<detail::connection> connection, std::weak_ptr<detail::pool> pool,
           std::chrono::milliseconds read_timeout, connection_limit::permit permit);
  response(std::unique_ptr<detail::h2_stream> stream, std::chrono::milliseconds read_timeout,
           connection_limit::permit permit);
  // Hands the connection back to the pool if it can carry another exchange,
  // else closes it; either way the exchange's permit goes back.
  void release() noexcept;

  unsigned status_ = 0;
  std::vector<std::pair<std::string, std::string>> fields_;
  std::optional<std::uint64_t> content_length_;
  bool body_done_ = true;
  std::chrono::milliseconds read_timeout_{0};
  // HTTP/1.1: the connection, pooled again after the body; HTTP/2: the stream.
  std::unique_ptr<detail::connection> connection_;
  std::unique_ptr<detail::h2_stream> stream_;
  std::weak_ptr<detail::pool> pool_;
  connection_limit::permit permit_;
};

// Thread-safe: send() may run from many coroutines on many threads and
// executors at once; each exchange gets a connection of its own. Sockets are
// created on (a strand of) the executor given here. The constructor throws boost::system::system_error
// when ca_file cannot be loaded (a startup error, not a request-path one).
class client {
 public:
  client(boost::asio::any_io_executor executor, endpoint ep, client_options opts);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Sends the request and returns once the response head arrived; the body is
  // read through the response. With options.limit, first waits for a permit. Errors: invalid_request, connect_failed,
  // connect_timeout, tls_failed, read_timeout, connection_closed, protocol_error.
  [[nodiscard]] boost::asio::awaitable<result<response>> send(request req);

  const endpoint& target() const noexcept;
  // Idle connections currently pooled.
  std::size_t idle_connections() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace regcache::upstream
