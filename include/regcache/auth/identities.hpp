#pragma once
// Who is asking: the identity of a request, from
//   Authorization: Basic   a user of auth.htpasswd_file and its password, or
//                          an identity of auth.tokens_file and its token as
//                          the password (for clients that only do Basic)
//   Authorization: Bearer  a token of auth.tokens_file
//   the client certificate a TLS connection verified: its subject CN, or
//                          its first subjectAltName when the CN is empty
//   nothing                anonymous (so is Basic with an empty user and
//                          password: containers/image sends that when it
//                          holds no credentials)
// An Authorization header is used whenever one is sent and no certificate
// can override a wrong one. Without either file, Authorization headers are
// ignored (clients send stored credentials to any registry).
//
// The hot path stays hot: a bcrypt check (milliseconds by design) runs at
// most once per credential per auth.cache_ttl. Successes are kept for
// cache_ttl in a bounded map (auth.cache_entries) keyed by a SHA-256 of
// the credential salted with a per-process secret, so the map never holds
// a password or anything to brute-force offline. The same exact wrong
// credential is answered from a second, separate map for `failure_ttl`,
// so a flood of wrong passwords can push out neither map's other entries.
// bcrypt runs on a thread of its own, one check at a time, never on an I/O
// thread, at the lowest CPU priority (nice 19): a burst of wrong passwords
// takes at most one core, and only the time serving leaves over, so cached
// requests are not delayed by it. When max_waiting_checks are already waiting, a new one fails
// fast with errc::verifier_busy. Both files are re-read when they change
// (checked at most once per second with stat(2)); a change drops every
// cached verification; a file that no longer parses is logged and the
// previous contents kept.
//
// Thread-safety: resolve() may be called from any thread concurrently.
#include "regcache/auth/expiring_lru.hpp"
#include "regcache/auth/htpasswd.hpp"
#include "regcache/auth/token_table.hpp"
#include "regcache/core/clock.hpp"
#include "regcache/core/file_stamp.hpp"
#include "regcache/core/result.hpp"
#include "regcache/http/exchange.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace regcache::auth {

struct identity_options {
  std::filesystem::path htpasswd_file;  // empty: no passwords
  std::filesystem::path tokens_file;    // empty: no tokens
  std::chrono::milliseconds cache_ttl{300'000};  // 0: every Basic request runs bcrypt
  std::size_t cache_entries = 10'000;
  std::chrono::milliseconds failure_ttl{10'000};
  std::size_t max_waiting_checks = 256;
};

struct requester {
  std::string identity;  // empty: anonymous
  [[nodiscard]] bool authenticated() const noexcept { return !identity.empty(); }
};

// The identity a verified client certificate names: its subject CN, else its
// first subjectAltName; empty when it names none.
[[nodiscard]] std::string identity_of(const http::client_certificate& certificate);

class identities {
 public:
  // Reads both files; throws file_error when one cannot be read or parsed.
  identities(identity_options options, const core::clock& clock);

  // True when a file is configured: only then are Authorization headers read.
  [[nodiscard]] bool reads_credentials() const noexcept {
    return !options_.htpasswd_file.empty() || !options_.tokens_file.empty();
  }

  // The requester; errc::credentials_invalid for an Authorization header that
  // does not verify (or is malformed, or of another scheme), errc::verifier_busy
  // when too many password checks wait.
  [[nodiscard]] boost::asio::awaitable<result<requester>> resolve(std::optional<std::string> authorization,
                                                                  const http::client_certificate* certificate);

  // bcrypt checks run so far (cache misses); for tests and metrics.
  [[nodiscard]] std::uint64_t checks_run() const noexcept { return checks_run_.load(); }

 private:
  void reload_if_changed();
  [[nodiscard]] std::string cache_key(const std::string& user, const std::string& secret) const;
  [[nodiscard]] boost::asio::awaitable<result<requester>> verify_password(std::string user, std::string password);

  identity_options options_;
  const core::clock& clock_;
  boost::asio::thread_pool checker_{1};
  const std::string salt_;

  std::mutex mutex_;  // guards everything below
  std::shared_ptr<const htpasswd> users_;
  std::shared_ptr<const token_table> tokens_;
  // The files as they were when last read; nullopt until the constructor read them.
  std::optional<core::file_stamp> users_stamp_;
  std::optional<core::file_stamp> tokens_stamp_;
  core::clock::time_point next_file_check_;
  std::uint64_t generation_ = 0;  // moves on every reload: results of older checks are not cached
  expiring_lru<std::string> successes_;
  expiring_lru<bool> failures_;

  std::atomic<std::size_t> waiting_checks_{0};
  std::atomic<std::uint64_t> checks_run_{0};
};

}  // namespace regcache::auth
