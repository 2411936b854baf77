#pragma once
// Authentication against one upstream registry: answers a
// 401 challenge with HTTP Basic credentials or with a Bearer token fetched
// from the challenge's realm, and resends the request once.
//
//   send(req) ─▶ pre-authorize as the last request did (Basic, or a cached/fetched token)
//             ─▶ client.send ── not 401 ──▶ response
//                  │ 401 + usable challenge (Bearer with realm; Basic with credentials)
//                  ▼
//             Bearer: drop the token just refused, fetch one (one fetch per key at a time,
//                     every concurrent caller shares it) ─▶ resend once ─▶ response
//             Basic:  resend once with credentials (unless they were just refused);
//                     from then on every request carries them at once
//   a token that cannot be obtained ─▶ the upstream's 401 response, as it came
//
// Tokens are cached per (realm, service, sorted scopes, identity) until
// token_usable_until(). Token requests are GET <realm>?service=..&scope=..
// (one scope= per scope), anonymous or with Basic credentials, sent through a
// client per realm origin, created on first use on the caller's executor.
//
// Thread-safe: one authenticator per upstream is shared by that upstream's
// per-thread clients; send() may run on any thread. Requests must be safe to
// resend (GET/HEAD). Credentials and tokens are never logged.
#include "regcache/core/clock.hpp"
#include "regcache/core/single_flight.hpp"
#include "regcache/core/result.hpp"
#include "regcache/upstream/challenge.hpp"
#include "regcache/upstream/client.hpp"
#include "regcache/upstream/credentials.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace regcache::upstream {

// Until when a token may be sent: from issued_at (when plausible: not in the
// future, not older than its lifetime) or else from `received`, plus
// expires_in (default 60 s when absent or not positive), minus a margin of
// min(30 s, lifetime / 10).
std::chrono::system_clock::time_point token_usable_until(std::chrono::system_clock::time_point received,
                                                         std::optional<std::chrono::system_clock::time_point> issued_at,
                                                         std::optional<std::int64_t> expires_in_seconds);

struct token_response {
  std::string token;
  std::optional<std::int64_t> expires_in;
  std::optional<std::chrono::system_clock::time_point> issued_at;
};
// A token endpoint's JSON body: access_token when non-empty, else token.
std::optional<token_response> parse_token_response(std::string_view body);

// "repository:<repo>:pull" scopes etc. are chosen by the caller; this one
// names the key a token is cached under.
std::string token_cache_key(std::string_view realm, std::string_view service, std::vector<std::string> scopes,
                            std::string_view identity);

class authenticator {
 public:
  // `realm_options` configure the clients made for token realms (TLS trust,
  // timeouts). `clock` decides token expiry and must outlive the authenticator.
  authenticator(std::string upstream_name, std::optional<credentials> creds, client_options realm_options,
                const core::clock& clock = core::clock::system());
  ~authenticator();
  authenticator(const authenticator&) = delete;
  authenticator& operator=(const authenticator&) = delete;

  // Sends req through c, authorizing it as described above. `repository`
  // ("library/alpine", may be empty) gives the scope repository:<repo>:pull
  // when the challenge names none. Errors are those of client::send; an
  // authorization that fails comes back as the upstream's 401 response.
  [[nodiscard]] boost::asio::awaitable<result<response>> send(client& c, request req, std::string repository);

  // A client for another origin this upstream sends us to (token realms,
  // redirect targets such as blob storage), made on first use with the realm
  // options and shared by all threads.
  std::shared_ptr<client> client_for(const endpoint& ep, boost::asio::any_io_executor executor);

  // Token requests sent so far (for tests and metrics).
  std::size_t token_fetches() const noexcept { return token_fetches_.load(); }

 private:
  struct cached_token {
    std::string token;
    std::chrono::system_clock::time_point usable_until;
  };
  enum class scheme { none, basic, bearer };

  // The cached token for key, or one fetched (shared with concurrent callers); nullopt when none can be had.
  boost::asio::awaitable<std::optional<std::string>> token_for(std::string realm, std::string service,
                                                               std::vector<std::string> scopes);
  boost::asio::awaitable<std::optional<cached_token>> fetch_token(std::string realm, std::string service,
                                                                  std::vector<std::string> scopes);
  void drop_token(const std::string& key, const std::string& token);
  std::string identity() const;

  const std::string name_;
  const std::optional<credentials> creds_;
  const client_options realm_options_;
  const core::clock& clock_;
  std::atomic<std::size_t> token_fetches_{0};

  mutable std::mutex mutex_;
  scheme last_scheme_ = scheme::none;
  std::string last_realm_;
  std::string last_service_;
  std::map<std::string, cached_token> tokens_;
  // Concurrent requests for the same token share one fetch.
  core::single_flight<std::optional<std::string>> token_flights_{std::nullopt};
  std::map<std::string, std::shared_ptr<client>> realm_clients_;
};

}  // namespace regcache::upstream
