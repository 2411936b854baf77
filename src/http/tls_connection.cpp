#include "connection.hpp"
#include "connection_io.hpp"
#include "server_shared.hpp"

#include <boost/asio/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cerrno>

namespace regcache::http {
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Bodies from files are read and encrypted this much at a time: large reads,
// few trips through the reactor (OpenSSL cuts them into 16 KiB records).
constexpr std::size_t file_chunk_bytes = 256 * 1024;
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
    : connection(std::move(shared)), context_(std::move(context)), stream_(std::move(socket), *context_) {}

void tls_connection::close() noexcept {
  // No close_notify: every response is delimited by its framing, and a
  // client that stopped reading must not hold the connection for it.
  auto& socket = socket_layer().socket();
  error_code ec;
  socket.shutdown(asio::socket_base::shutdown_both, ec);
  ignore_error(ec, "the peer may already be gone");
  socket.close(ec);
  ignore_error(ec, "closing is best effort");
}

asio::awaitable<bool> tls_connection::start() {
  auto& layer = socket_layer();
  remote_address_ = peer_address(layer.socket().native_handle());
  error_code ec;
  layer.socket().set_option(tcp::no_delay(true), ec);
  ignore_error(ec, "Nagle only affects latency (and a socketpair has none)");
  // The handshake, from the first byte, within header_timeout: a client that
  // connects and sends nothing cannot hold the connection.
  layer.expires_after(options().header_timeout);
  auto [read_ec, n] = co_await layer.async_read_some(buffer_.prepare(read_chunk_bytes), use_tuple);
  buffer_.commit(n);
  if (read_ec) {
    layer.expires_never();
    co_return false;
  }
  if (static_cast<const unsigned char*>(buffer_.data().data())[0] != tls_handshake_record) {
    spdlog::debug("plain HTTP (or other non-TLS bytes) from {} on the TLS port: answered 400", remote_address_);
    auto [write_ec, written] = co_await asio::async_write(layer, asio::buffer(plain_http_answer), use_tuple);
    ignore_error(write_ec, "the connection is closed right after");
    layer.expires_never();
    co_return false;
  }
  auto [handshake_ec, used] = co_await stream_.async_handshake(ssl::stream_base::server, buffer_.data(), use_tuple);
  buffer_.consume(buffer_.size());
  layer.expires_never();
  if (handshake_ec) {
    const long verify = SSL_get_verify_result(stream_.native_handle());
    if (verify != X509_V_OK)
      spdlog::info("TLS handshake from {} refused: client certificate not accepted: {}", remote_address_,
                   X509_verify_cert_error_string(verify));
    else if (ERR_GET_REASON(static_cast<unsigned long>(handshake_ec.value())) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
      spdlog::info("TLS handshake from {} refused: no client certificate (server.tls.client_auth is require)",
                   remote_address_);
    else
      spdlog::debug("TLS handshake from {} failed: {}", remote_address_, handshake_ec.message());
    co_return false;
  }
  take_peer_certificate();
  co_return true;
}

void tls_connection::take_peer_certificate() {
  SSL* ssl = stream_.native_handle();
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return;
  // client_auth: optional lets a certificate that did not verify through the
  // handshake; it counts as none.
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    spdlog::info("TLS client {} sent a certificate that does not verify ({}): treated as none", remote_address_,
                 X509_verify_cert_error_string(verify));
    return;
  }
  peer_certificate_ = names_of(cert);
}

asio::awaitable<error_code> tls_connection::read_head() {
  co_return co_await read_request_head(stream_, buffer_, *parser_, options(), idle_);
}

asio::awaitable<result<std::string>> tls_connection::read_body(std::size_t limit) {
  co_return co_await read_request_body(stream_, buffer_, *parser_, options(), limit);
}

asio::awaitable<error_code> tls_connection::write_buffers(std::string_view a, std::string_view b,
                                                          std::string_view c) {
  const std::array<asio::const_buffer, 3> buffers{asio::buffer(a), asio::buffer(b), asio::buffer(c)};
  auto& layer = socket_layer();
  layer.expires_after(options().write_timeout);
  auto [ec, n] = co_await asio::async_write(stream_, buffers, use_tuple);
  layer.expires_never();
  co_return ec;
}

// No sendfile through SSL: the file is read (pread, from the page cache as a
// rule) in large chunks and written encrypted.
asio::awaitable<error_code> tls_connection::send_file(int fd, std::uint64_t offset, std::uint64_t length) {
  const auto chunk_size = static_cast<std::size_t>(std::min<std::uint64_t>(length, file_chunk_bytes));
  auto chunk = std::make_unique_for_overwrite<char[]>(chunk_size);
  auto& layer = socket_layer();
  while (length > 0) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length, chunk_size));
    const ssize_t n = ::pread(fd, chunk.get(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) co_return error_code(errno, boost::system::system_category());
    if (n == 0) co_return make_error_code(asio::error::eof);  // file shorter than promised
    layer.expires_after(options().write_timeout);
    auto [ec, written] = co_await asio::async_write(stream_, asio::buffer(chunk.get(), static_cast<std::size_t>(n)),
                                                    use_tuple);
    layer.expires_never();
    if (ec) co_return ec;
    offset += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
  co_return error_code{};
}

}  // namespace regcache::http
