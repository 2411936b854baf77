#pragma once
// The TLS server's certificate, key and client CA as an SSL context, kept
// current while the files change (certificate rotation without a restart).
//
//   files ──stat every interval (watcher thread)──▶ changed? ──▶ load_credentials
//                                                              ok: current() = new context
//                                                              bad: log why, keep the old one
//
// A connection takes current() once, for its handshake, and keeps that
// context for its whole life: a rotation never touches an open connection,
// and new handshakes use the newest good pair. The files are stat()ed
// through their symlinks, so cert-manager's swap of a Secret volume's
// `..data` link is seen as a change of every file.
//
// Handshake policy: OpenSSL's default cipher suites, at least
// `min_version`, no renegotiation, ALPN choosing from `alpn_protocols`
// (http/1.1 now; the list is where h2 joins). Client certificates per
// `client_auth`: none (never asked), optional (asked; the handshake goes on
// whatever the client sends, and only a certificate that verified against
// client_ca_file counts: SSL_get_verify_result tells), require (a handshake
// without a certificate that verifies fails).
//
// Thread-safety: current() may be called from any thread. check() is
// called by one thread at a time: the watcher thread once watch() started
// (never an I/O thread: it reads files and parses keys), a test otherwise.
#include "regcache/core/file_stamp.hpp"
#include "regcache/core/result.hpp"

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace regcache::metrics {
class counter;
class gauge;
class registry;
}  // namespace regcache::metrics

namespace regcache::tls {

enum class client_auth { none, optional, require };
enum class protocol_version { tls1_2, tls1_3 };

struct server_options {
  std::filesystem::path cert_file;       // PEM: the certificate, then its chain
  std::filesystem::path key_file;        // PEM private key matching cert_file
  std::filesystem::path client_ca_file;  // PEM CAs for client certificates; needed unless client_auth is none
  tls::client_auth client_auth = client_auth::none;
  protocol_version min_version = protocol_version::tls1_2;
  // ALPN protocols the server offers, in its order of preference.
  std::vector<std::string> alpn_protocols{"http/1.1"};
};

// A loaded pair: the context handshakes use, and what the operator is told about it.
struct credentials {
  std::shared_ptr<boost::asio::ssl::context> context;
  std::chrono::system_clock::time_point not_after;  // the leaf certificate's expiry
  std::string subject;                              // the leaf certificate's subject, one line
};

// Builds a context from the files. On failure the error is a sentence for
// the operator naming the file and OpenSSL's reason (unreadable, not PEM,
// key not matching the certificate); it never holds key material.
[[nodiscard]] boost::system::result<credentials, std::string> load_credentials(const server_options& options);

class server_context {
 public:
  enum class check_outcome { unchanged, reloaded, failed };

  // `first` is the pair loaded at startup (load_credentials). Registers
  // regcache_tls_certificate_expiry_timestamp_seconds and
  // regcache_tls_reloads_total{result="success"|"failure"} in `metrics`.
  server_context(server_options options, credentials first, metrics::registry& metrics);
  ~server_context();
  server_context(const server_context&) = delete;
  server_context& operator=(const server_context&) = delete;

  // The newest good context.
  [[nodiscard]] std::shared_ptr<boost::asio::ssl::context> current() const;
  // Compares the files' stat() with the last attempt's and reloads when
  // they differ. A failure is logged once per change of the files, so a
  // bad pair left in place is not retried (nor logged) every interval.
  check_outcome check();
  // Starts a thread that calls check() every `interval` until destruction.
  void watch(std::chrono::milliseconds interval);

 private:
  std::vector<std::optional<core::file_stamp>> stat_files() const;
  void publish(credentials loaded);
  void watch_loop(std::stop_token stop, std::chrono::milliseconds interval);

  server_options options_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;
  std::vector<std::optional<core::file_stamp>> seen_;  // the files as they were at the last load attempt
  metrics::gauge& expiry_;
  metrics::counter& reloads_ok_;
  metrics::counter& reloads_failed_;
  std::mutex wake_mutex_;
  std::condition_variable_any wake_;
  std::jthread watcher_;  // last: stopped and joined before the rest goes
};

}  // namespace regcache::tls
