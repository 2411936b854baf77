#include "regcache/tls/server_context.hpp"

#include "regcache/metrics/registry.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/fmt/chrono.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

namespace regcache::tls {
namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's reason for the last failure on this thread, and the queue emptied.
std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : "OpenSSL error " + std::to_string(code);
}

// Names the file and why it cannot be opened, before OpenSSL's vaguer words would.
std::optional<std::string> unreadable(const std::filesystem::path& file, std::string_view key) {
  std::ifstream in(file, std::ios::binary);
  if (in) return std::nullopt;
  return std::string(key) + " " + file.string() + ": cannot read: " + std::strerror(errno);
}

// The ALPN list in its wire format: each name prefixed by its length.
std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& name : protocols) {
    wire += static_cast<char>(name.size());
    wire += name;
  }
  return wire;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* offered,
                unsigned int offered_length, void* arg) {
  const auto* ours = static_cast<const std::string*>(arg);
  unsigned char* chosen = nullptr;
  const int outcome = SSL_select_next_proto(&chosen, out_length, reinterpret_cast<const unsigned char*>(ours->data()),
                                            static_cast<unsigned int>(ours->size()), offered, offered_length);
  // No protocol in common: go on without ALPN (HTTP/1.1), as nginx does.
  if (outcome != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// client_auth: optional. The handshake goes on whatever the certificate;
// SSL_get_verify_result still holds the verdict, and only a verified
// certificate is taken as the client's.
int accept_unverified(int, X509_STORE_CTX*) { return 1; }

std::chrono::system_clock::time_point not_after_of(X509* leaf) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string subject_of(X509* leaf) {
  char line[512];
  X509_NAME_oneline(X509_get_subject_name(leaf), line, sizeof line);
  return line;
}

using ctx_ptr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

}  // namespace

boost::system::result<credentials, std::string> load_credentials(const server_options& options) {
  ERR_clear_error();
  if (auto problem = unreadable(options.cert_file, "cert_file")) return *problem;
  if (auto problem = unreadable(options.key_file, "key_file")) return *problem;
  const bool verify_clients = options.client_auth != client_auth::none;
  if (verify_clients) {
    if (auto problem = unreadable(options.client_ca_file, "client_ca_file")) return *problem;
  }
  ctx_ptr ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return "cannot create an SSL context: " + openssl_reason();
  SSL_CTX_set_min_proto_version(ctx.get(),
                                options.min_version == protocol_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  // The key first: a certificate set after it that does not match drops it,
  // so every kind of mismatch shows as one, in the check below.
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), options.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return "key_file " + options.key_file.string() + ": " + openssl_reason();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), options.cert_file.c_str()) != 1)
    return "cert_file " + options.cert_file.string() + ": " + openssl_reason();
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return "key_file " + options.key_file.string() + " does not match cert_file " + options.cert_file.string();
  }
  if (verify_clients) {
    if (SSL_CTX_load_verify_locations(ctx.get(), options.client_ca_file.c_str(), nullptr) != 1)
      return "client_ca_file " + options.client_ca_file.string() + ": " + openssl_reason();
    // The CAs named in the CertificateRequest, so a client with several
    // certificates picks one these accept.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (!names) return "client_ca_file " + options.client_ca_file.string() + ": no certificate in it";
    SSL_CTX_set_client_CA_list(ctx.get(), names);
    if (options.client_auth == client_auth::require)
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    else
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, accept_unverified);
  }
  // Resumed sessions of clients that sent a certificate need an id context.
  static constexpr unsigned char session_context[] = "regcache";
  SSL_CTX_set_session_id_context(ctx.get(), session_context, sizeof session_context - 1);

  X509* leaf = SSL_CTX_get0_certificate(ctx.get());
  credentials loaded{nullptr, not_after_of(leaf), subject_of(leaf)};
  // The ALPN list lives as long as the context that points at it.
  auto wire = std::make_shared<const std::string>(alpn_wire(options.alpn_protocols));
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_alpn, const_cast<std::string*>(wire.get()));
  loaded.context = std::shared_ptr<ssl::context>(new ssl::context(ctx.release()),
                                                 [wire](ssl::context* context) { delete context; });
  return loaded;
}

server_context::server_context(server_options options, credentials first, metrics::registry& metrics)
    : options_(std::move(options)),
      expiry_(metrics.get_gauge("regcache_tls_certificate_expiry_timestamp_seconds",
                                "When the TLS server certificate in use expires (Unix time)")),
      reloads_ok_(metrics.get_counter("regcache_tls_reloads_total",
                                      "TLS certificate reloads after the files changed, by result",
                                      {{"result", "success"}})),
      reloads_failed_(metrics.get_counter("regcache_tls_reloads_total",
                                          "TLS certificate reloads after the files changed, by result",
                                          {{"result", "failure"}})) {
  seen_ = stat_files();
  publish(std::move(first));
}

server_context::~server_context() {
  if (watcher_.joinable()) {
    watcher_.request_stop();
    watcher_.join();
  }
}

std::shared_ptr<ssl::context> server_context::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void server_context::publish(credentials loaded) {
  expiry_.set(std::chrono::duration_cast<std::chrono::seconds>(loaded.not_after.time_since_epoch()).count());
  std::lock_guard lock(mutex_);
  current_ = std::move(loaded.context);
}

std::vector<std::optional<core::file_stamp>> server_context::stat_files() const {
  std::vector<std::optional<core::file_stamp>> stamps;
  for (const auto* file : {&options_.cert_file, &options_.key_file, &options_.client_ca_file})
    stamps.push_back(core::stamp_of(*file));
  return stamps;
}

server_context::check_outcome server_context::check() {
  auto now = stat_files();
  if (now == seen_) return check_outcome::unchanged;
  seen_ = std::move(now);
  auto loaded = load_credentials(options_);
  if (!loaded) {
    reloads_failed_.inc();
    spdlog::error("TLS certificate files changed but cannot be used, still serving the previous certificate: {}",
                  loaded.error());
    return check_outcome::failed;
  }
  spdlog::info("TLS certificate reloaded: {} (expires {:%Y-%m-%d %H:%M:%S} UTC)", loaded->subject,
               std::chrono::floor<std::chrono::seconds>(loaded->not_after));
  reloads_ok_.inc();
  publish(std::move(*loaded));
  return check_outcome::reloaded;
}

void server_context::watch(std::chrono::milliseconds interval) {
  watcher_ = std::jthread([this, interval](std::stop_token stop) { watch_loop(stop, interval); });
}

void server_context::watch_loop(std::stop_token stop, std::chrono::milliseconds interval) {
  std::unique_lock lock(wake_mutex_);
  for (;;) {
    wake_.wait_for(lock, stop, interval, [] { return false; });
    if (stop.stop_requested()) return;
    check();
  }
}

}  // namespace regcache::tls
