#include "regcache/auth/gate.hpp"

#include "regcache/auth/errc.hpp"

namespace regcache::auth {
namespace asio = boost::asio;

namespace {

std::optional<std::string> authorization_of(const http::exchange& ex) {
  const auto value = ex.header("Authorization");
  if (!value) return std::nullopt;
  return std::string(*value);
}

// The identity field of a request whose credentials did not verify.
constexpr std::string_view invalid_identity = "-";

}  // namespace

gate::gate(std::unique_ptr<identities> ids, policy rules, std::unique_ptr<audit> trail)
    : identities_(std::move(ids)), rules_(std::move(rules)), audit_(std::move(trail)) {}

asio::awaitable<result<requester>> gate::authenticate(http::exchange& ex) {
  if (!enabled()) co_return requester{};
  auto who = co_await identities_->resolve(authorization_of(ex), ex.peer_certificate());
  if (!who) {
    if (who.error() == errc::credentials_invalid) {
      audit_->count("unauthorized");
      audit_->record({"unauthorized", invalid_identity, ex.remote_address(), "-", "-", "-", {}});
    }
    co_return who.error();
  }
  if (!who->authenticated() && identities_->reads_credentials()) co_return errc::credentials_missing;
  co_return who;
}

asio::awaitable<result<requester>> gate::admit(http::exchange& ex, std::string upstream, std::string repository,
                                               std::string reference) {
  if (!enabled()) co_return requester{};
  auto who = co_await identities_->resolve(authorization_of(ex), ex.peer_certificate());
  if (!who && who.error() == errc::verifier_busy) co_return who.error();
  const auto decided =
      who ? rules_.decide(upstream, repository, who->identity) : verdict{decision::deny, std::nullopt};
  if (who && decided.outcome == decision::allow) {
    audit_->count("allow");
    co_return who;
  }
  const bool authenticated = who && who->authenticated();
  const std::string_view label = authenticated ? "deny" : "unauthorized";
  audit_->count(label);
  const std::string_view identity = who ? std::string_view(who->identity) : invalid_identity;
  audit_->record({label, identity, ex.remote_address(), upstream, repository, reference, {}});
  if (!who) co_return who.error();
  co_return authenticated ? errc::denied : errc::credentials_missing;
}

void gate::pulled(const http::exchange& ex, const requester& who, std::string_view upstream,
                  std::string_view repository, std::string_view reference, std::string_view digest) {
  if (!enabled()) return;
  audit_->record_pull({"allow", who.identity, ex.remote_address(), upstream, repository, reference, digest});
}

}  // namespace regcache::auth
