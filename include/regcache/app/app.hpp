#pragma once
// The running cache: everything `regcache serve` wires together from a
// validated configuration, owned in one place.
//
//   app(cfg)   opens storage.root and its index, reconciles them, builds the
//              upstreams, the caches, the evictor and prefetcher, the
//              registry and admin handlers, loads the TLS certificate (and
//              watches its files), and binds the listeners
//              (port 0 → a free port, readable with port() / admin_port())
//   run()      serves on server.threads threads (the caller's included) with
//              the background tasks (access-time flush, evictor, storage
//              readiness watch) until stop() or SIGINT / SIGTERM has drained
//              the server, then flushes access times and returns
//   stop()     what SIGTERM does: drain (answer /readyz 503, finish in-flight
//              responses), wait at most server.shutdown_grace, end run()
//
// Thread-safety: stop() may be called from any thread, once run() started or
// before; run() is called once. Construction throws config::config_error
// for settings that only prove unusable when applied (storage.quota, TLS
// files, passwords; exit code 2) and startup_error when the machine refuses
// (storage, index, a listener; exit code 1).
#include "regcache/config/config.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>

namespace regcache::app {

struct serve_flags;

class startup_error : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

class app {
 public:
  explicit app(config::config cfg);
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // The registry API's bound ports: plain (server.listen) and TLS
  // (server.tls.listen); nullopt for a listener not configured.
  [[nodiscard]] std::optional<std::uint16_t> port() const noexcept;
  [[nodiscard]] std::optional<std::uint16_t> tls_port() const noexcept;
  // The admin API's bound port; nullopt when admin.enabled is false.
  [[nodiscard]] std::optional<std::uint16_t> admin_port() const noexcept;

  void run();
  void stop();

 private:
  struct parts;
  std::unique_ptr<parts> parts_;
};

// `regcache serve`: loads the configuration with the flags over it, sets up
// logging, runs the app until a signal stops it. Returns the process exit
// code: 0 after a clean stop, 2 for a configuration error, 1 when startup
// failed otherwise.
[[nodiscard]] int serve(const serve_flags& flags);

}  // namespace regcache::app
