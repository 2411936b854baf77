#pragma once
// The access gate in front of every repository route of the registry API:
// resolves the requester (identities.hpp), evaluates the access rules
// (policy.hpp) for (upstream, repository), counts and audits the decision
// (audit.hpp).
//
// Default-constructed, the gate is off: everyone pulls everything and
// nothing is audited (regcache without `auth` and `access`).
//
// Answers, as auth::errc (registry::status_of maps them):
//   credentials_invalid  the Authorization header does not verify       → 401 + challenge
//   credentials_missing  anonymous, and the rules refuse anonymous      → 401 + challenge
//   denied               an authenticated identity the rules refuse     → 403 DENIED
//   verifier_busy        too many password checks waiting               → 503, Retry-After
//
// Thread-safety: all members may be called from any thread.
#include "regcache/auth/audit.hpp"
#include "regcache/auth/identities.hpp"
#include "regcache/auth/policy.hpp"
#include "regcache/core/result.hpp"
#include "regcache/http/exchange.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace regcache::auth {

class gate {
 public:
  gate() = default;
  gate(std::unique_ptr<identities> ids, policy rules, std::unique_ptr<audit> trail);

  [[nodiscard]] bool enabled() const noexcept { return identities_ != nullptr; }

  // GET /v2/, where clients log in: an authenticated requester, or
  // credentials_missing (the challenge that makes docker and skopeo send
  // their credentials) when access control is on, credentials can be given
  // and none were. Wrong credentials are audited.
  [[nodiscard]] boost::asio::awaitable<result<requester>> authenticate(http::exchange& ex);

  // A repository route: the requester when the rules let it pull
  // `repository` of `upstream`; every refusal is counted and audited.
  [[nodiscard]] boost::asio::awaitable<result<requester>> admit(http::exchange& ex, std::string upstream,
                                                                std::string repository, std::string reference);

  // After a manifest was served: audits the first pull of `digest` by the requester.
  void pulled(const http::exchange& ex, const requester& who, std::string_view upstream, std::string_view repository,
              std::string_view reference, std::string_view digest);

 private:
  std::unique_ptr<identities> identities_;
  policy rules_;
  std::unique_ptr<audit> audit_;
};

}  // namespace regcache::auth
