#include "regcache/auth/identities.hpp"

#include "regcache/auth/errc.hpp"
#include "regcache/auth/secrets.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace regcache::auth {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// htpasswd -nbB alice 'correct horse' / htpasswd -nbB bob b0b
constexpr std::string_view alice_hash = "$2y$05$rNz0pOeuZAc.3XURBkn7ZeJrUin58wwtGdTE8apngyafLqBsRK1sm";
constexpr std::string_view bob_hash = "$2y$05$CtU2y6z3X9APD.LzsmeSAOtHj7/KdYZMhEwFVf2aTTeDnOM9/EyTG";
// printf %s robot-token-1 | sha256sum
constexpr std::string_view robot_line =
    "ci-robot sha256:901dc2ad9e6e6e2d4f833eb5b79c54e29c06fac4087a979a8b0304e40fd58494\n";

// "user:password" in Base64, as an Authorization value.
std::string basic(std::string_view user, std::string_view password) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = std::string(user) + ":" + std::string(password);
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? alphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? alphabet[n & 63] : '=';
  }
  return "Basic " + out;
}

void write_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

class identities_test : public ::testing::Test {
 protected:
  identities_test() {
    std::filesystem::create_directories(dir_);
    write_file(htpasswd_, "alice:" + std::string(alice_hash) + "\nbob:" + std::string(bob_hash) + "\n");
    write_file(tokens_, robot_line);
  }
  ~identities_test() override { std::filesystem::remove_all(dir_); }

  identity_options options() const {
    identity_options o;
    o.htpasswd_file = htpasswd_;
    o.tokens_file = tokens_;
    o.cache_ttl = 5min;
    o.failure_ttl = 10s;
    return o;
  }

  result<requester> resolve(identities& ids, std::optional<std::string> authorization,
                            const http::client_certificate* certificate = nullptr) {
    std::optional<result<requester>> out;
    asio::co_spawn(io_, ids.resolve(std::move(authorization), certificate),
                   [&out](std::exception_ptr e, result<requester> r) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(r);
                   });
    io_.restart();
    io_.run();
    return std::move(*out);
  }

  std::string identity(identities& ids, std::optional<std::string> authorization,
                       const http::client_certificate* certificate = nullptr) {
    auto who = resolve(ids, std::move(authorization), certificate);
    if (!who) return "error: " + who.error().message();
    return who->authenticated() ? who->identity : "anonymous";
  }

  const std::filesystem::path dir_ =
      std::filesystem::path(::testing::TempDir()) /
      ("identities_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  const std::filesystem::path htpasswd_ = dir_ / "htpasswd";
  const std::filesystem::path tokens_ = dir_ / "tokens";
  core::manual_clock clock_;
  asio::io_context io_;
};

TEST_F(identities_test, a_verified_password_is_cached_until_its_ttl) {
  identities ids(options(), clock_);
  EXPECT_EQ(identity(ids, basic("alice", "correct horse")), "alice");
  EXPECT_EQ(identity(ids, basic("alice", "correct horse")), "alice");
  EXPECT_EQ(ids.checks_run(), 1u);
  clock_.advance(5min);
  EXPECT_EQ(identity(ids, basic("alice", "correct horse")), "alice");
  EXPECT_EQ(ids.checks_run(), 2u);
}

TEST_F(identities_test, the_same_wrong_password_is_checked_once_per_failure_ttl) {
  identities ids(options(), clock_);
  EXPECT_EQ(resolve(ids, basic("alice", "wrong")).error(), errc::credentials_invalid);
  EXPECT_EQ(resolve(ids, basic("alice", "wrong")).error(), errc::credentials_invalid);
  EXPECT_EQ(ids.checks_run(), 1u);
  EXPECT_EQ(resolve(ids, basic("alice", "wrong again")).error(), errc::credentials_invalid);
  EXPECT_EQ(ids.checks_run(), 2u);
  clock_.advance(10s);
  EXPECT_EQ(resolve(ids, basic("alice", "wrong")).error(), errc::credentials_invalid);
  EXPECT_EQ(ids.checks_run(), 3u);
  // A failure never makes the right password fail.
  EXPECT_EQ(identity(ids, basic("alice", "correct horse")), "alice");
}

TEST_F(identities_test, an_unknown_user_costs_a_check_and_fails) {
  identities ids(options(), clock_);
  EXPECT_EQ(resolve(ids, basic("mallory", "correct horse")).error(), errc::credentials_invalid);
  EXPECT_EQ(ids.checks_run(), 1u);
}

TEST_F(identities_test, the_cache_is_bounded) {
  auto o = options();
  o.cache_entries = 1;
  identities ids(o, clock_);
  EXPECT_EQ(identity(ids, basic("alice", "correct horse")), "alice");
  EXPECT_EQ(identity(ids, basic("bob", "b0b")), "bob");
  EXPECT_EQ(identity(ids, basic("alice", "correct horse")), "alice");
  EXPECT_EQ(ids.checks_run(), 3u);
}

TEST_F(identities_test, a_changed_htpasswd_file_is_reloaded_and_drops_the_cache) {
  identities ids(options(), clock_);
  EXPECT_EQ(identity(ids, basic("alice", "correct horse")), "alice");
  // alice's password becomes b0b; the file is looked at again after a second.
  write_file(htpasswd_, "alice:" + std::string(bob_hash) + "\n");
  EXPECT_EQ(identity(ids, basic("alice", "correct horse")), "alice");
  clock_.advance(1s);
  EXPECT_EQ(resolve(ids, basic("alice", "correct horse")).error(), errc::credentials_invalid);
  EXPECT_EQ(identity(ids, basic("alice", "b0b")), "alice");
  EXPECT_EQ(resolve(ids, basic("bob", "b0b")).error(), errc::credentials_invalid);
}

TEST_F(identities_test, a_broken_new_file_keeps_the_previous_users) {
  identities ids(options(), clock_);
  write_file(htpasswd_, "alice:$apr1$xCsQjRPH$iRbIYcyEJwygvR.o2kZj10\n");
  clock_.advance(1s);
  EXPECT_EQ(identity(ids, basic("alice", "correct horse")), "alice");
}

TEST_F(identities_test, refuses_to_start_with_another_hash_type) {
  write_file(htpasswd_, "alice:" + std::string(alice_hash) + "\ncarol:$apr1$xCsQjRPH$iRbIYcyEJwygvR.o2kZj10\n");
  try {
    identities ids(options(), clock_);
    FAIL() << "accepted an MD5 hash";
  } catch (const file_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(htpasswd_.string() + " line 2: user \"carol\""));
  }
}

TEST_F(identities_test, tokens_as_bearer_or_as_the_basic_password_of_their_identity) {
  identities ids(options(), clock_);
  EXPECT_EQ(identity(ids, "Bearer robot-token-1"), "ci-robot");
  EXPECT_EQ(identity(ids, basic("ci-robot", "robot-token-1")), "ci-robot");
  EXPECT_EQ(ids.checks_run(), 0u);
  EXPECT_EQ(resolve(ids, "Bearer robot-token-2").error(), errc::credentials_invalid);
  // Another identity's token is not alice's password.
  EXPECT_EQ(resolve(ids, basic("alice", "robot-token-1")).error(), errc::credentials_invalid);
  EXPECT_EQ(resolve(ids, "Digest username=alice").error(), errc::credentials_invalid);
}

TEST_F(identities_test, client_certificates_name_their_cn_or_first_san) {
  identities ids(options(), clock_);
  const http::client_certificate by_cn{"node-17", {"node-17.cluster.local"}};
  const http::client_certificate by_san{"", {"spiffe://cluster/ns/ci/sa/builder", "builder.ci"}};
  EXPECT_EQ(identity(ids, std::nullopt, &by_cn), "node-17");
  EXPECT_EQ(identity(ids, std::nullopt, &by_san), "spiffe://cluster/ns/ci/sa/builder");
  EXPECT_EQ(identity(ids, std::nullopt), "anonymous");
  // An Authorization header is used whenever one is sent.
  EXPECT_EQ(identity(ids, basic("alice", "correct horse"), &by_cn), "alice");
  EXPECT_EQ(resolve(ids, basic("alice", "wrong"), &by_cn).error(), errc::credentials_invalid);
}

TEST_F(identities_test, an_empty_basic_user_and_password_is_no_credential) {
  identities ids(options(), clock_);
  const http::client_certificate by_cn{"node-17", {}};
  EXPECT_EQ(identity(ids, "Basic Og=="), "anonymous") << "skopeo without credentials sends this";
  EXPECT_EQ(identity(ids, "Basic Og==", &by_cn), "node-17");
  EXPECT_EQ(resolve(ids, basic("", "x")).error(), errc::credentials_invalid);
  EXPECT_EQ(resolve(ids, basic("alice", "")).error(), errc::credentials_invalid);
}

TEST_F(identities_test, without_credential_files_headers_are_ignored) {
  identities ids(identity_options{}, clock_);
  EXPECT_FALSE(ids.reads_credentials());
  EXPECT_EQ(identity(ids, basic("alice", "correct horse")), "anonymous");
}

TEST_F(identities_test, too_many_waiting_checks_fail_fast) {
  auto o = options();
  o.max_waiting_checks = 0;
  identities ids(o, clock_);
  EXPECT_EQ(resolve(ids, basic("alice", "correct horse")).error(), errc::verifier_busy);
  EXPECT_EQ(ids.checks_run(), 0u);
}

}  // namespace
}  // namespace regcache::auth
