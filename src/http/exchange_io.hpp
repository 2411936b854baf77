#pragma once
// Internal to the http module: what an exchange needs from the protocol that
// carries it. HTTP/1.1 (connection) and HTTP/2 (h2_stream) implement it; the
// exchange keeps what both share (HEAD and bodiless statuses send no body,
// the response's state for the access log) and the protocol frames the bytes.
#include "regcache/core/result.hpp"
#include "regcache/http/exchange.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace regcache::http {

class exchange_io {
 public:
  using request_type = boost::beast::http::request<boost::beast::http::empty_body>;

  // The request head; HTTP/2's pseudo-headers are its method and target, and
  // :authority its Host field.
  virtual const request_type& request() const = 0;
  virtual bool request_has_body() const noexcept = 0;
  virtual boost::asio::awaitable<result<std::string>> read_body(std::size_t limit) = 0;
  virtual std::string_view remote_address() const noexcept = 0;
  virtual const client_certificate* peer_certificate() const noexcept = 0;
  // "HTTP/1.1" or "HTTP/2", for the access log.
  virtual std::string_view protocol() const noexcept = 0;

  // The response head. `body_follows` is false for HEAD and bodiless
  // statuses: the response is then complete with the head.
  virtual boost::asio::awaitable<error_code> send_head(const response_head& head, bool body_follows) = 0;
  // Body bytes (never empty), after a head with body_follows.
  virtual boost::asio::awaitable<error_code> write_body(std::string_view bytes) = 0;
  // `length` (> 0) bytes of `fd` from `offset`; eof when the file is shorter.
  // Returns once the bytes left the file: the caller may close it.
  virtual boost::asio::awaitable<error_code> send_file(int fd, std::uint64_t offset, std::uint64_t length) = 0;
  // Ends a body that followed the head.
  virtual boost::asio::awaitable<error_code> finish_body() = 0;
  // Ends the response without completing it: the client never takes a
  // truncated body for a whole one.
  virtual void abort() noexcept = 0;

  // A whole response: the head (with its Content-Length) and, when
  // body_follows, `body`. By default send_head, write_body, finish_body; a
  // protocol that can put both on the wire at once overrides it.
  virtual boost::asio::awaitable<error_code> send_whole(const response_head& head, std::string_view body,
                                                        bool body_follows);
  // A prepared response, its body only when body_follows. By default framed
  // from its structured fields through send_whole; HTTP/1.1 sends the head it
  // serialized once.
  virtual boost::asio::awaitable<error_code> send_prepared(const prepared_response& response, bool body_follows);

 protected:
  ~exchange_io() = default;
};

}  // namespace regcache::http
