#pragma once
// Internal to the http module: what the transports share.
#include "connection.hpp"
#include "regcache/http/errc.hpp"

namespace regcache::http {

// What one read of a request head asks the socket for.
inline constexpr std::size_t read_chunk_bytes = 4096;

// The first bytes of every HTTP/2 connection (RFC 9113 3.4).
inline constexpr std::string_view h2_client_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// The client's address ("203.0.113.7", "2001:db8::1"; "local" for a socketpair).
std::string peer_address(int fd);

// Timer handler of a wait on `socket` with a deadline: expiry cancels the wait.
void cancel_on_expiry(connection::socket_type* socket, const error_code& ec);

}  // namespace regcache::http
