#include "regcache/upstream/authenticator.hpp"

#include "regcache/core/clock.hpp"
#include "regcache/core/text.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>

namespace regcache::upstream {
namespace asio = boost::asio;
using sys_time = std::chrono::system_clock::time_point;

namespace {

constexpr std::size_t max_token_body = 64 * 1024;
constexpr std::size_t max_cached_tokens = 1024;
constexpr std::chrono::seconds default_token_lifetime{60};
constexpr std::chrono::seconds max_margin{30};

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

void set_authorization(request& req, std::string value) {
  std::erase_if(req.headers, [](const auto& h) { return iequals(h.first, "Authorization"); });
  req.headers.emplace_back("Authorization", std::move(value));
}

std::vector<std::string> split_scopes(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto sp = s.find(' ');
    const auto part = s.substr(0, sp);
    if (!part.empty()) out.emplace_back(part);
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

void normalise_scopes(std::vector<std::string>& scopes) {
  std::sort(scopes.begin(), scopes.end());
  scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
}

}  // namespace

sys_time token_usable_until(sys_time received, std::optional<sys_time> issued_at,
                            std::optional<std::int64_t> expires_in_seconds) {
  std::chrono::seconds lifetime = default_token_lifetime;
  if (expires_in_seconds && *expires_in_seconds > 0)
    lifetime = std::chrono::seconds(std::min<std::int64_t>(*expires_in_seconds, 365LL * 24 * 3600));
  sys_time start = received;
  if (issued_at && *issued_at <= received && *issued_at + lifetime > received) start = *issued_at;
  const auto margin = std::min<std::chrono::system_clock::duration>(max_margin, lifetime / 10);
  return start + lifetime - margin;
}

std::optional<token_response> parse_token_response(std::string_view body) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const auto& obj = value.as_object();
  token_response out;
  if (const auto* t = obj.if_contains("access_token"); t && t->is_string() && !t->as_string().empty())
    out.token = std::string(t->as_string());
  else if (const auto* t2 = obj.if_contains("token"); t2 && t2->is_string())
    out.token = std::string(t2->as_string());
  if (out.token.empty()) return std::nullopt;
  if (const auto* e = obj.if_contains("expires_in")) {
    if (e->is_int64()) out.expires_in = e->as_int64();
    else if (e->is_uint64()) out.expires_in = static_cast<std::int64_t>(std::min<std::uint64_t>(e->as_uint64(), INT64_MAX));
    else if (e->is_double()) out.expires_in = static_cast<std::int64_t>(std::clamp(e->as_double(), -1.0, 1e12));
  }
  if (const auto* i = obj.if_contains("issued_at"); i && i->is_string())
    out.issued_at = core::parse_rfc3339(i->as_string());
  return out;
}

std::string token_cache_key(std::string_view realm, std::string_view service, std::vector<std::string> scopes,
                            std::string_view identity) {
  normalise_scopes(scopes);
  std::string key;
  key.append(realm).append(1, '\n').append(service).append(1, '\n').append(identity).append(1, '\n');
  for (const auto& s : scopes) key.append(s).append(1, ' ');
  return key;
}

authenticator::authenticator(std::string upstream_name, std::optional<credentials> creds, client_options realm_options,
                             const core::clock& clock)
    : name_(std::move(upstream_name)), creds_(std::move(creds)), realm_options_(std::move(realm_options)),
      clock_(clock) {}

authenticator::~authenticator() = default;

std::string authenticator::identity() const { return creds_ ? creds_->username : std::string(); }

std::shared_ptr<client> authenticator::client_for(const endpoint& ep, asio::any_io_executor executor) {
  const auto origin = ep.origin();
  std::lock_guard lock(mutex_);
  auto& slot = realm_clients_[origin];
  if (!slot) slot = std::make_shared<client>(std::move(executor), ep, realm_options_);
  return slot;
}

void authenticator::drop_token(const std::string& key, const std::string& token) {
  std::lock_guard lock(mutex_);
  if (auto it = tokens_.find(key); it != tokens_.end() && it->second.token == token) tokens_.erase(it);
}

asio::awaitable<std::optional<std::string>> authenticator::token_for(std::string realm, std::string service,
                                                                     std::vector<std::string> scopes) {
  const std::string key = token_cache_key(realm, service, scopes, identity());
  {
    std::lock_guard lock(mutex_);
    if (auto it = tokens_.find(key); it != tokens_.end()) {
      if (clock_.now() < it->second.usable_until) co_return it->second.token;
      tokens_.erase(it);
    }
  }
  auto ticket = token_flights_.join(key);
  if (!ticket.leader()) co_return co_await ticket.wait();

  std::optional<cached_token> fetched;
  try {
    fetched = co_await fetch_token(realm, service, scopes);
  } catch (const std::exception& e) {
    spdlog::warn("upstream {}: token request to {} failed: {}", name_, realm, e.what());
  }
  std::optional<std::string> outcome;
  if (fetched) {
    outcome = fetched->token;
    std::lock_guard lock(mutex_);
    if (tokens_.size() >= max_cached_tokens) {
      const auto now = clock_.now();
      std::erase_if(tokens_, [&](const auto& entry) { return entry.second.usable_until <= now; });
      if (tokens_.size() >= max_cached_tokens) tokens_.clear();
    }
    tokens_[key] = std::move(*fetched);
  }
  ticket.finish(outcome);
  co_return outcome;
}

asio::awaitable<std::optional<authenticator::cached_token>> authenticator::fetch_token(std::string realm,
                                                                                       std::string service,
                                                                                       std::vector<std::string> scopes) {
  const auto question = realm.find('?');
  const std::string base = realm.substr(0, question);
  auto ep = parse_url(base);
  if (!ep) {
    spdlog::warn("upstream {}: token realm \"{}\" is not an http(s) URL", name_, realm);
    co_return std::nullopt;
  }
  std::string target = ep->base_path.empty() ? std::string("/") : ep->base_path;
  ep->base_path.clear();
  std::vector<std::string> query;
  if (question != std::string::npos && question + 1 < realm.size()) query.push_back(realm.substr(question + 1));
  if (!service.empty()) query.push_back("service=" + core::percent_encode(service));
  normalise_scopes(scopes);
  for (const auto& scope : scopes) query.push_back("scope=" + core::percent_encode(scope));
  for (std::size_t i = 0; i < query.size(); ++i) target += (i == 0 ? "?" : "&") + query[i];

  request req{method::get, std::move(target), {}};
  if (creds_) set_authorization(req, basic_authorization(*creds_));
  auto executor = co_await asio::this_coro::executor;
  auto token_client = client_for(*ep, std::move(executor));
  ++token_fetches_;
  spdlog::debug("upstream {}: token request to {} (service {}, {} scopes){}", name_, base, service, scopes.size(),
                creds_ ? " with credentials" : " anonymously");
  auto sent = co_await token_client->send(std::move(req));
  if (!sent) {
    spdlog::warn("upstream {}: token request to {} failed: {}", name_, base, sent.error().message());
    co_return std::nullopt;
  }
  if (sent->status() != 200) {
    spdlog::warn("upstream {}: token endpoint {} answered {}{}", name_, base, sent->status(),
                 creds_ ? " (credentials of " + redacted(*creds_) + ")" : std::string(" (anonymous)"));
    co_return std::nullopt;
  }
  auto body = co_await sent->read_all(max_token_body);
  if (!body) {
    spdlog::warn("upstream {}: token response from {} unreadable: {}", name_, base, body.error().message());
    co_return std::nullopt;
  }
  auto parsed = parse_token_response(*body);
  if (!parsed) {
    spdlog::warn("upstream {}: token response from {} holds no token", name_, base);
    co_return std::nullopt;
  }
  co_return cached_token{std::move(parsed->token),
                         token_usable_until(clock_.now(), parsed->issued_at, parsed->expires_in)};
}

asio::awaitable<result<response>> authenticator::send(client& c, request req, std::string repository) {
  std::vector<std::string> derived_scopes;
  if (!repository.empty()) derived_scopes.push_back("repository:" + repository + ":pull");
  scheme pre = scheme::none;
  std::string pre_realm;
  std::string pre_service;
  {
    std::lock_guard lock(mutex_);
    pre = last_scheme_;
    pre_realm = last_realm_;
    pre_service = last_service_;
  }

  request first = req;
  std::optional<std::string> used_token;
  std::string used_key;
  bool used_basic = false;
  if (pre == scheme::basic && creds_) {
    set_authorization(first, basic_authorization(*creds_));
    used_basic = true;
  } else if (pre == scheme::bearer && !derived_scopes.empty()) {
    auto token = co_await token_for(pre_realm, pre_service, derived_scopes);
    if (token) {
      used_key = token_cache_key(pre_realm, pre_service, derived_scopes, identity());
      set_authorization(first, "Bearer " + *token);
      used_token = std::move(token);
    }
  }
  auto sent = co_await c.send(std::move(first));
  if (!sent || sent->status() != 401) co_return std::move(sent);

  const auto values = sent->headers("WWW-Authenticate");
  const auto challenges = parse_challenges(values);
  const challenge* chosen = nullptr;
  for (const auto& ch : challenges) {
    if ((ch.scheme == "bearer" && ch.param("realm") && !ch.param("realm")->empty()) ||
        (ch.scheme == "basic" && creds_)) {
      chosen = &ch;
      break;
    }
  }
  if (!chosen) co_return std::move(sent);

  if (chosen->scheme == "basic") {
    if (used_basic) {
      spdlog::warn("upstream {} refused the credentials of {}", name_, redacted(*creds_));
      co_return std::move(sent);
    }
    request second = req;
    set_authorization(second, basic_authorization(*creds_));
    co_await sent->discard();  // its connection and permit serve the retry
    auto again = co_await c.send(std::move(second));
    if (again) {
      // The upstream asked for Basic: later requests carry it at once, taken
      // or refused (as containerd does), so refused credentials cost each
      // request one exchange, not an anonymous one first.
      std::lock_guard lock(mutex_);
      last_scheme_ = scheme::basic;
    }
    if (again && again->status() == 401)
      spdlog::warn("upstream {} refused the credentials of {}", name_, redacted(*creds_));
    co_return std::move(again);
  }

  std::string realm(*chosen->param("realm"));
  std::string service(chosen->param("service").value_or(""));
  std::vector<std::string> scopes = derived_scopes;
  if (auto scope = chosen->param("scope"); scope && !scope->empty()) scopes = split_scopes(*scope);
  if (used_token) drop_token(used_key, *used_token);
  co_await sent->discard();  // its connection and permit serve the token fetch and the retry
  auto token = co_await token_for(realm, service, scopes);
  if (!token) co_return std::move(sent);
  request second = req;
  set_authorization(second, "Bearer " + *token);
  auto again = co_await c.send(std::move(second));
  if (again && again->status() != 401) {
    std::lock_guard lock(mutex_);
    last_scheme_ = scheme::bearer;
    last_realm_ = realm;
    last_service_ = service;
  } else if (again) {
    drop_token(token_cache_key(realm, service, scopes, identity()), *token);
    spdlog::warn("upstream {} refused a fresh token from {}", name_, realm);
  }
  co_return std::move(again);
}

}  // namespace regcache::upstream
