#include "regcache/auth/identities.hpp"

#include "regcache/auth/errc.hpp"
#include "regcache/auth/secrets.hpp"
#include "regcache/core/hasher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace regcache::auth {
namespace asio = boost::asio;

namespace {

// Checked for a user when the file has none at all (htpasswd::stand_in_hash).
const std::string no_users_hash = "$2y$05$xUradbJEucXLwGrOg4iab.WIfcbaT37P.1kCSETj9rAQU/fDOIGrC";

constexpr auto file_check_interval = std::chrono::seconds(1);

std::string read_file(const std::filesystem::path& path, std::string_view key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(std::string(key) + " " + path.string() + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw file_error(std::string(key) + " " + path.string() + ": cannot read: " + std::strerror(errno));
  return text.str();
}

// Runs on the checks strand of the blocking pool.
asio::awaitable<bool> check_password(std::string password, std::string hash) {
  co_return bcrypt_matches(password, hash);
}

}  // namespace

std::string identity_of(const http::client_certificate& certificate) {
  if (!certificate.subject_common_name.empty()) return certificate.subject_common_name;
  if (!certificate.subject_alt_names.empty()) return certificate.subject_alt_names.front();
  return {};
}

identities::identities(identity_options options, const core::clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      salt_(random_secret()),
      successes_(options_.cache_entries, options_.cache_ttl),
      failures_(options_.cache_entries, std::min(options_.failure_ttl, options_.cache_ttl)) {
  // Serving comes first: the checker thread only gets the CPU time the I/O
  // threads leave. (A thread may lower its own priority without privileges.)
  asio::post(checker_, [] {
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19) != 0)
      spdlog::warn("auth: cannot lower the priority of the password checks ({}): a burst of wrong passwords "
                   "competes with serving for the CPU",
                   std::strerror(errno));
  });
  // The stamps first: a change while the files are read is seen at the next check.
  reload_if_changed();
  if (!options_.htpasswd_file.empty())
    users_ = std::make_shared<const htpasswd>(
        htpasswd::parse(read_file(options_.htpasswd_file, "auth.htpasswd_file"), options_.htpasswd_file.string()));
  if (!options_.tokens_file.empty())
    tokens_ = std::make_shared<const token_table>(
        token_table::parse(read_file(options_.tokens_file, "auth.tokens_file"), options_.tokens_file.string()));
  next_file_check_ = clock_.now() + file_check_interval;
}

namespace {

// Re-reads `path` into `current` when its stamp moved; keeps the old
// contents (and logs) when the new ones do not parse.
template <class Table>
bool reload(const std::filesystem::path& path, std::string_view key, std::shared_ptr<const Table>& current,
            std::optional<core::file_stamp>& stamp) {
  const auto now = core::stamp_of(path);
  if (!now || now == stamp) return false;
  const bool first = !stamp;
  stamp = now;
  if (first) return false;
  try {
    current = std::make_shared<const Table>(Table::parse(read_file(path, key), path.string()));
    spdlog::info("{} {} changed: reloaded, cached verifications dropped", key, path.string());
    return true;
  } catch (const file_error& e) {
    spdlog::error("{}: keeping the previous contents", e.what());
    return false;
  }
}

}  // namespace

void identities::reload_if_changed() {
  // The first call (from the constructor) only records the files' stamps.
  const bool users_changed = reload(options_.htpasswd_file, "auth.htpasswd_file", users_, users_stamp_);
  const bool tokens_changed = reload(options_.tokens_file, "auth.tokens_file", tokens_, tokens_stamp_);
  if (users_changed || tokens_changed) {
    ++generation_;
    successes_.clear();
    failures_.clear();
  }
}

std::string identities::cache_key(const std::string& user, const std::string& secret) const {
  // The user's length first: no two (user, secret) pairs give the same bytes.
  std::string material = salt_;
  material += std::to_string(user.size());
  material.push_back(':');
  material += user;
  material += secret;
  return core::hasher::of(material).str();
}

asio::awaitable<result<requester>> identities::resolve(std::optional<std::string> authorization,
                                                       const http::client_certificate* certificate) {
  std::shared_ptr<const token_table> tokens;
  {
    std::lock_guard lock(mutex_);
    if (const auto now = clock_.now(); now >= next_file_check_) {
      next_file_check_ = now + file_check_interval;
      reload_if_changed();
    }
    tokens = tokens_;
  }
  std::optional<presented_credentials> presented;
  if (authorization && reads_credentials()) {
    presented = parse_authorization(*authorization);
    if (!presented) co_return errc::credentials_invalid;
  }
  // containers/image (skopeo, podman, CRI-O) answers the Basic challenge of
  // GET /v2/ with "Basic Og==", an empty user and password, when it holds
  // no credentials for the registry: that is no credential, not a wrong one.
  const bool empty_basic = presented && presented->kind == presented_credentials::scheme::basic &&
                           presented->user.empty() && presented->secret.empty();
  if (!presented || empty_basic) {
    if (certificate) co_return requester{identity_of(*certificate)};
    co_return requester{};
  }
  // A token is checked first: SHA-256 is cheap, bcrypt is not.
  if (tokens) {
    if (auto identity = tokens->identity_of(presented->secret)) {
      const bool bearer = presented->kind == presented_credentials::scheme::bearer;
      if (bearer || *identity == presented->user) co_return requester{std::move(*identity)};
    }
  }
  if (presented->kind == presented_credentials::scheme::bearer || presented->user.empty())
    co_return errc::credentials_invalid;
  co_return co_await verify_password(std::move(presented->user), std::move(presented->secret));
}

asio::awaitable<result<requester>> identities::verify_password(std::string user, std::string password) {
  const auto key = cache_key(user, password);
  std::string hash = no_users_hash;
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    const auto now = clock_.now();
    if (auto identity = successes_.get(key, now)) co_return requester{std::move(*identity)};
    if (failures_.get(key, now)) co_return errc::credentials_invalid;
    if (users_) {
      if (const auto* known = users_->hash_of(user)) hash = *known;
      else if (const auto* stand_in = users_->stand_in_hash()) hash = *stand_in;
    }
    generation = generation_;
  }
  if (waiting_checks_.fetch_add(1) >= options_.max_waiting_checks) {
    waiting_checks_.fetch_sub(1);
    co_return errc::verifier_busy;
  }
  auto check = check_password(std::move(password), std::move(hash));
  const bool matches = co_await asio::co_spawn(checker_.get_executor(), std::move(check), asio::use_awaitable);
  waiting_checks_.fetch_sub(1);
  checks_run_.fetch_add(1);
  // A user missing from the file matches the stand-in hash with that user's password.
  std::lock_guard lock(mutex_);
  const bool known = users_ && users_->hash_of(user) != nullptr;
  const bool verified = matches && known;
  if (generation == generation_) {
    if (verified) successes_.put(key, user, clock_.now());
    else failures_.put(key, true, clock_.now());
  }
  if (!verified) co_return errc::credentials_invalid;
  co_return requester{std::move(user)};
}

}  // namespace regcache::auth
