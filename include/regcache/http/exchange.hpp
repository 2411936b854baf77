#pragma once
// One HTTP request and its response, as seen by a handler.
//
// The server parses the request head and hands the handler an exchange; the
// handler answers through it, either at once (send) or streamed (send_head,
// then write / send_file, then finish). The exchange knows whether the
// request was a HEAD and then never puts body bytes on the wire, so handlers
// write the same code for GET and HEAD.
//
// The same exchange serves HTTP/1.1 and HTTP/2 requests: the protocol is the
// server's business (see server.hpp), never the handler's.
//
// Thread affinity: an exchange belongs to its connection's coroutine (HTTP/2:
// its stream's); call it only from there. It never outlives that coroutine.
#include "regcache/core/result.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regcache::http {

enum class method { get, head, post, put, patch, delete_, options, other };

using header_fields = std::vector<std::pair<std::string, std::string>>;

struct response_head {
  unsigned status = 200;
  header_fields fields;
  // Known length → Content-Length; none → chunked transfer coding.
  std::optional<std::uint64_t> content_length;
};

// A response made once and sent many times (a cached manifest's 200 on the
// hit path): the status, fields and body as structured values, which every
// protocol can frame, and the HTTP/1.1 head serialized once, so answering it
// on HTTP/1.1 builds no header and takes one write. Content-Length is the
// body's size; the fields must not name it, Transfer-Encoding or Connection
// (HTTP/1.1 adds `Connection: close` when the connection ends after it).
// Immutable once built: share it between threads and connections.
class prepared_response {
 public:
  prepared_response(unsigned status, header_fields fields, std::shared_ptr<const std::string> body);

  unsigned status() const noexcept { return status_; }
  const header_fields& fields() const noexcept { return fields_; }
  std::uint64_t content_length() const noexcept { return body_->size(); }
  std::string_view body() const noexcept { return *body_; }
  // Status line and fields with Content-Length, each ending in CRLF, without
  // the empty line that ends the head.
  std::string_view http1_head() const noexcept { return http1_head_; }

 private:
  unsigned status_;
  header_fields fields_;
  std::shared_ptr<const std::string> body_;
  std::string http1_head_;
};

// The certificate a client presented on a TLS connection and the handshake
// verified against server.tls.client_ca_file.
struct client_certificate {
  std::string subject_common_name;
  // DNS names, e-mail addresses and URIs of the subjectAltName extension.
  std::vector<std::string> subject_alt_names;
};

class exchange_io;

class exchange {
 public:
  exchange(exchange_io& io, std::string request_id);

  http::method method() const noexcept;
  std::string_view method_name() const noexcept;
  std::string_view target() const noexcept;
  // First value of a request header (case-insensitive name).
  std::optional<std::string_view> header(std::string_view name) const;
  // Every value of a request header, in order.
  std::vector<std::string_view> headers(std::string_view name) const;
  bool request_has_body() const noexcept;
  // The whole request body (JSON of the admin API; the registry API reads
  // none). Only a Content-Length body of at most `limit` bytes is read:
  // errc::body_too_large beyond it, errc::body_unsupported for a chunked one.
  // Call it once, before answering. The connection still ends after the
  // response of a request that had a body.
  boost::asio::awaitable<result<std::string>> read_body(std::size_t limit);
  const std::string& request_id() const noexcept { return request_id_; }
  // The client's address ("203.0.113.7", "2001:db8::1"; "local" for a
  // socketpair), for audit lines.
  std::string_view remote_address() const noexcept;
  // The verified client certificate; null on plain connections and when the
  // TLS client sent none.
  const client_certificate* peer_certificate() const noexcept;

  // A whole response with an in-memory body (Content-Length is set from it).
  boost::asio::awaitable<error_code> send(response_head head, std::string body);
  // A prepared response (its body is left out for a HEAD).
  boost::asio::awaitable<error_code> send(std::shared_ptr<const prepared_response> response);
  // The response head of a streamed body.
  boost::asio::awaitable<error_code> send_head(response_head head);
  boost::asio::awaitable<error_code> write(std::span<const std::byte> bytes);
  boost::asio::awaitable<error_code> write(std::string_view bytes);
  // Body bytes straight from a file: sendfile(2), no copy through user space
  // (over TLS: read in large chunks and encrypted). Returns once the bytes
  // left the file: the caller may close it then.
  boost::asio::awaitable<error_code> send_file(int fd, std::uint64_t offset, std::uint64_t length);
  // Ends a streamed body (the last chunk of a chunked body).
  boost::asio::awaitable<error_code> finish();
  // Ends the response without completing it: HTTP/1.1 cuts the connection
  // (the client sees a truncated body), HTTP/2 resets the stream with
  // INTERNAL_ERROR. Never a complete wrong body.
  void abort() noexcept;

  // What the access log and request metrics report for this exchange; both
  // must be string literals (they are kept as views).
  void annotate(std::string_view route, std::string_view cache_outcome) noexcept;

  // State read by the server after the handler returns.
  bool head_sent() const noexcept { return head_sent_; }
  bool complete() const noexcept { return complete_; }
  bool aborted() const noexcept { return aborted_; }
  unsigned status() const noexcept { return status_; }
  std::uint64_t body_bytes() const noexcept { return body_bytes_; }
  std::string_view route() const noexcept { return route_; }
  std::string_view cache_outcome() const noexcept { return cache_outcome_; }
  // "HTTP/1.1" or "HTTP/2".
  std::string_view protocol() const noexcept;

 private:
  bool is_head() const noexcept;

  exchange_io& io_;
  std::string request_id_;
  bool head_sent_ = false;
  bool complete_ = false;
  bool aborted_ = false;
  bool body_follows_ = false;
  unsigned status_ = 0;
  std::uint64_t body_bytes_ = 0;
  std::string_view route_ = "other";
  std::string_view cache_outcome_ = "-";
};

}  // namespace regcache::http
