#include "connection.hpp"
#include "connection_io.hpp"
#include "server_shared.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace regcache::http {
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Bodies from files are read and encrypted this much at a time: large reads
// and writes (OpenSSL cuts them into 16 KiB records, straight to the socket).
constexpr std::size_t file_chunk_bytes = 256 * 1024;
// Pieces of a write up to this size are copied into one TLS record.
constexpr std::size_t coalesce_limit = 16 * 1024;
// The first byte of every TLS connection: a handshake record.
constexpr unsigned char tls_handshake_record = 0x16;

// What nginx answers, so the operator reading the client's error knows at once.
constexpr std::string_view plain_http_answer =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 46\r\n\r\n"
    "The plain HTTP request was sent to HTTPS port\n";

// An ASN.1 string as text; nullopt when it holds a NUL, which could make
// "alice\0.example" pass for "alice" in whoever maps names to identities.
std::optional<std::string> text_of(const ASN1_STRING* value) {
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, value);
  if (length < 0) return std::nullopt;
  std::string text(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  if (text.find('\0') != std::string::npos) return std::nullopt;
  return text;
}

client_certificate names_of(X509* cert) {
  client_certificate out;
  X509_NAME* subject = X509_get_subject_name(cert);
  const int cn = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (cn >= 0) {
    if (auto text = text_of(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn))))
      out.subject_common_name = std::move(*text);
  }
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      int type = 0;
      const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, i), &type));
      if (type != GEN_DNS && type != GEN_EMAIL && type != GEN_URI) continue;
      if (auto text = text_of(value)) out.subject_alt_names.push_back(std::move(*text));
    }
    GENERAL_NAMES_free(names);
  }
  return out;
}

}  // namespace

tls_connection::tls_connection(socket_type socket, std::shared_ptr<ssl::context> context,
                               std::shared_ptr<server_shared> shared)
    : connection(std::move(shared)),
      socket_(std::move(socket)),
      write_timer_(socket_.get_executor()),
      context_(std::move(context)) {}

tls_connection::~tls_connection() {
  if (ssl_) SSL_free(ssl_);
}

void tls_connection::close() noexcept {
  // No close_notify: every response is delimited by its framing, and a
  // client that stopped reading must not hold the connection for it.
  error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_both, ec);
  ignore_error(ec, "the peer may already be gone");
  socket_.close(ec);
  ignore_error(ec, "closing is best effort");
}

asio::awaitable<error_code> tls_connection::wait(asio::socket_base::wait_type what, clock::time_point deadline) {
  bool timed_out = false;
  error_code ec;
  if (what == asio::socket_base::wait_read) {
    read_deadline_.begin(deadline, weak_from_this());
    std::tie(ec) = co_await socket_.async_wait(what, use_tuple);
    timed_out = read_deadline_.passed();
    read_deadline_.end();
  } else {
    // Without a deadline no timer: its expiry would cancel the other
    // direction's wait too.
    auto* socket = &socket_;
    if (deadline != clock::time_point::max()) {
      write_timer_.expires_at(deadline);
      write_timer_.async_wait([socket](const error_code& e) { cancel_on_expiry(socket, e); });
    }
    std::tie(ec) = co_await socket_.async_wait(what, use_tuple);
    timed_out = deadline != clock::time_point::max() && write_timer_.expiry() <= clock::now();
    write_timer_.cancel();
  }
  if (timed_out && ec) co_return make_error_code(boost::beast::error::timeout);
  co_return ec;
}

asio::awaitable<error_code> tls_connection::wait_for_ssl(int ssl_error, clock::time_point deadline) {
  switch (ssl_error) {
    case SSL_ERROR_WANT_READ: co_return co_await wait(asio::socket_base::wait_read, deadline);
    case SSL_ERROR_WANT_WRITE: co_return co_await wait(asio::socket_base::wait_write, deadline);
    case SSL_ERROR_ZERO_RETURN: co_return make_error_code(asio::error::eof);
    case SSL_ERROR_SYSCALL: {
      const int code = errno;
      ERR_clear_error();
      // EOF without close_notify, or the socket's own error.
      co_return code == 0 ? make_error_code(asio::error::eof) : error_code(code, boost::system::system_category());
    }
    default: {
      const auto code = ERR_peek_last_error();
      ERR_clear_error();
      co_return error_code(static_cast<int>(code), asio::error::get_ssl_category());
    }
  }
}

asio::awaitable<error_code> tls_connection::handshake(clock::time_point deadline) {
  for (;;) {
    // SSL_get_error reads this thread's error queue, which other connections share.
    ERR_clear_error();
    const int done = SSL_do_handshake(ssl_);
    if (done == 1) co_return error_code{};
    if (auto ec = co_await wait_for_ssl(SSL_get_error(ssl_, done), deadline)) co_return ec;
  }
}

asio::awaitable<bool> tls_connection::start() {
  remote_address_ = peer_address(socket_.native_handle());
  error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  ignore_error(ec, "Nagle only affects latency (and a socketpair has none)");
  socket_.non_blocking(true, ec);
  if (ec) co_return false;
  // The handshake, from the first byte, within header_timeout: a client that
  // connects and sends nothing cannot hold the connection.
  const auto deadline = clock::now() + options().header_timeout;
  if (co_await wait(asio::socket_base::wait_read, deadline)) co_return false;
  unsigned char first = 0;
  if (::recv(socket_.native_handle(), &first, 1, MSG_PEEK) != 1) co_return false;
  if (first != tls_handshake_record) {
    spdlog::debug("plain HTTP (or other non-TLS bytes) from {} on the TLS port: answered 400", remote_address_);
    // One non-blocking write: the answer fits any socket buffer.
    socket_.write_some(asio::buffer(plain_http_answer), ec);
    ignore_error(ec, "the connection is closed right after");
    co_return false;
  }
  ssl_ = SSL_new(context_->native_handle());
  if (!ssl_ || SSL_set_fd(ssl_, socket_.native_handle()) != 1) co_return false;
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_accept_state(ssl_);
  const auto handshake_ec = co_await handshake(deadline);
  if (handshake_ec) {
    const long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK)
      spdlog::info("TLS handshake from {} refused: client certificate not accepted: {}", remote_address_,
                   X509_verify_cert_error_string(verify));
    else if (handshake_ec.category() == asio::error::get_ssl_category() &&
             ERR_GET_REASON(static_cast<unsigned long>(handshake_ec.value())) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
      spdlog::info("TLS handshake from {} refused: no client certificate (server.tls.client_auth is require)",
                   remote_address_);
    else
      spdlog::debug("TLS handshake from {} failed: {}", remote_address_, handshake_ec.message());
    co_return false;
  }
  take_peer_certificate();
  const unsigned char* protocol = nullptr;
  unsigned int protocol_length = 0;
  SSL_get0_alpn_selected(ssl_, &protocol, &protocol_length);
  alpn_h2_ = protocol_length == 2 && protocol[0] == 'h' && protocol[1] == '2';
  co_return true;
}

void tls_connection::take_peer_certificate() {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (!cert) return;
  // client_auth: optional lets a certificate that did not verify through the
  // handshake; it counts as none.
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    spdlog::info("TLS client {} sent a certificate that does not verify ({}): treated as none", remote_address_,
                 X509_verify_cert_error_string(verify));
    return;
  }
  peer_certificate_ = names_of(cert);
}

asio::awaitable<error_code> tls_connection::read_some(clock::time_point deadline) {
  for (;;) {
    auto space = buffer_.prepare(read_chunk_bytes);
    std::size_t n = 0;
    ERR_clear_error();
    const int done = SSL_read_ex(ssl_, space.data(), space.size(), &n);
    if (done == 1) {
      buffer_.commit(n);
      co_return error_code{};
    }
    if (auto ec = co_await wait_for_ssl(SSL_get_error(ssl_, done), deadline)) co_return ec;
  }
}

asio::awaitable<error_code> tls_connection::write_all(const char* data, std::size_t size) {
  while (size > 0) {
    std::size_t written = 0;
    ERR_clear_error();
    const int done = SSL_write_ex(ssl_, data, size, &written);
    if (done == 1) {
      data += written;
      size -= written;
      continue;
    }
    // write_timeout bounds each wait, as on plain connections: a slow but
    // moving reader is never cut.
    if (auto ec = co_await wait_for_ssl(SSL_get_error(ssl_, done), clock::now() + options().write_timeout))
      co_return ec;
  }
  co_return error_code{};
}

asio::awaitable<error_code> tls_connection::write_buffers(std::string_view a, std::string_view b,
                                                          std::string_view c) {
  // Small pieces (a head, a chunk's framing) go out as one TLS record.
  const std::size_t total = a.size() + b.size() + c.size();
  if (total <= coalesce_limit && (!b.empty() || !c.empty())) {
    coalesced_.clear();
    coalesced_.append(a).append(b).append(c);
    co_return co_await write_all(coalesced_.data(), coalesced_.size());
  }
  for (const auto piece : {a, b, c}) {
    if (auto ec = co_await write_all(piece.data(), piece.size())) co_return ec;
  }
  co_return error_code{};
}

asio::awaitable<error_code> tls_connection::send_prefixed_file(std::string_view prefix, int fd,
                                                               std::uint64_t offset, std::uint64_t length) {
  const auto size = prefix.size() + static_cast<std::size_t>(length);
  if (size > frame_capacity_) {
    frame_ = std::make_unique_for_overwrite<char[]>(size);
    frame_capacity_ = size;
  }
  std::memcpy(frame_.get(), prefix.data(), prefix.size());
  std::size_t have = prefix.size();
  while (have < size) {
    const ssize_t n = ::pread(fd, frame_.get() + have, size - have, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) co_return error_code(errno, boost::system::system_category());
    if (n == 0) co_return make_error_code(asio::error::eof);  // file shorter than promised
    have += static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  co_return co_await write_all(frame_.get(), size);
}

// No sendfile through SSL: the file is read (pread, from the page cache as a
// rule) in large chunks and written encrypted.
asio::awaitable<error_code> tls_connection::send_file(int fd, std::uint64_t offset, std::uint64_t length) {
  const auto chunk_size = static_cast<std::size_t>(std::min<std::uint64_t>(length, file_chunk_bytes));
  auto chunk = std::make_unique_for_overwrite<char[]>(chunk_size);
  while (length > 0) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length, chunk_size));
    const ssize_t n = ::pread(fd, chunk.get(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) co_return error_code(errno, boost::system::system_category());
    if (n == 0) co_return make_error_code(asio::error::eof);  // file shorter than promised
    if (auto ec = co_await write_all(chunk.get(), static_cast<std::size_t>(n))) co_return ec;
    offset += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
  co_return error_code{};
}

}  // namespace regcache::http
