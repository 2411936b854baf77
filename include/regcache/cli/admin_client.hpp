#pragma once
// A small blocking HTTP/1.1 client for the admin API (Beast, synchronous):
// one connection per request, JSON bodies, and NDJSON streams read line by
// line as they arrive. For the command line only; the server never blocks
// like this.
#include "regcache/cli/admin_address.hpp"
#include "regcache/core/result.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace regcache::cli {

struct http_reply {
  unsigned status = 0;
  std::string body;  // empty when the lines went to a line handler
};

using line_handler = std::function<void(std::string_view line)>;

class admin_client {
 public:
  // `token` (may be empty: none) goes out as `Authorization: Bearer <token>`
  // on every request.
  explicit admin_client(admin_endpoint endpoint, std::string token = {})
      : endpoint_(std::move(endpoint)), token_(std::move(token)) {}

  const admin_endpoint& endpoint() const noexcept { return endpoint_; }

  // Sends `body` (JSON, or none when empty). With `on_line`, a 200 answer's
  // body is handed over line by line (without the '\n') as it arrives;
  // other answers are returned whole. Errors: resolving, connecting, I/O.
  [[nodiscard]] result<http_reply> request(std::string_view method, std::string_view target, std::string body = {},
                                           const line_handler& on_line = {}) const;

  // "cannot reach the regcache admin API at http://…: <why>: is `regcache serve` running? (admin.listen)"
  [[nodiscard]] std::string unreachable_message(const error_code& ec) const;

 private:
  admin_endpoint endpoint_;
  std::string token_;
};

}  // namespace regcache::cli
