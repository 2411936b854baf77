#include "regcache/app/upstreams.hpp"

#include "unit/store/test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace regcache::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

config::upstream_config upstream_at(std::string name, std::string url) {
  config::upstream_config u;
  u.name = std::move(name);
  u.url = std::move(url);
  return u;
}

class upstreams_test : public ::testing::Test {
 protected:
  std::string config_error_of(const config::upstream_config& u) {
    try {
      (void)make_upstream_source(u, workers_, metrics_);
    } catch (const config::config_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "upstream " << u.name << " was set up";
    return "";
  }

  boost::asio::io_context first_, second_;
  std::vector<boost::asio::any_io_executor> workers_{first_.get_executor(), second_.get_executor()};
  store::testing::temp_dir dir_;
  metrics::registry metrics_;
};

TEST_F(upstreams_test, source_carries_the_configured_policy_and_its_registry_client) {
  auto u = upstream_at("docker.io", "https://registry-1.docker.io");
  u.aliases = {"registry-1.docker.io"};
  u.tag_ttl = std::chrono::seconds(7);
  u.max_stale = std::chrono::hours(1);
  u.on_tag_not_found = "serve_cached";
  u.send_ns = true;
  u.offline = true;
  u.min_transfer_rate = 1000;
  u.min_transfer_window = std::chrono::seconds(5);
  const auto source = make_upstream_source(u, workers_, metrics_);
  EXPECT_EQ(source->name, "docker.io");
  EXPECT_EQ(source->aliases, u.aliases);
  ASSERT_NE(source->registry, nullptr);
  EXPECT_EQ(source->registry->name(), "docker.io");
  EXPECT_EQ(source->tag_ttl, std::chrono::seconds(7));
  EXPECT_EQ(source->max_stale, std::chrono::hours(1));
  EXPECT_TRUE(source->serve_cached_when_tag_not_found);
  EXPECT_TRUE(source->docker_hub);
  EXPECT_TRUE(source->registry->options().send_ns);
  EXPECT_TRUE(source->registry->options().offline);
  EXPECT_EQ(source->min_transfer.bytes_per_second, 1000u);
  EXPECT_EQ(source->min_transfer.window, std::chrono::seconds(5));
}

TEST_F(upstreams_test, defaults_follow_the_upstream_and_only_docker_hub_is_docker_hub) {
  auto u = upstream_at("127.0.0.1:5001", "http://127.0.0.1:5001");
  u.insecure_http = true;
  const auto source = make_upstream_source(u, workers_, metrics_);
  EXPECT_FALSE(source->serve_cached_when_tag_not_found);
  EXPECT_FALSE(source->docker_hub);
  EXPECT_FALSE(source->registry->options().send_ns);
  EXPECT_FALSE(source->registry->options().offline);
}

TEST_F(upstreams_test, all_upstreams_in_their_order) {
  config::config cfg;
  for (const char* name : {"ghcr.io", "quay.io", "docker.io"}) {
    cfg.upstreams.push_back(upstream_at(name, std::string("https://") + name));
  }
  const auto sources = make_upstream_sources(cfg, workers_, metrics_);
  ASSERT_EQ(sources.size(), 3u);
  EXPECT_EQ(sources[0]->name, "ghcr.io");
  EXPECT_EQ(sources[1]->name, "quay.io");
  EXPECT_EQ(sources[2]->name, "docker.io");
}

TEST_F(upstreams_test, unreadable_password_file_is_named_and_never_echoed) {
  auto u = upstream_at("ghcr.io", "https://ghcr.io");
  u.username = "someone";
  u.password_file = (dir_.path() / "missing").string();
  EXPECT_EQ(config_error_of(u), "upstreams[ghcr.io].password_file: the password file cannot be read");
}

TEST_F(upstreams_test, unset_password_env_is_named) {
  auto u = upstream_at("ghcr.io", "https://ghcr.io");
  u.username = "someone";
  u.password_env = "REGCACHE_APP_TEST_PASSWORD_THAT_IS_NOT_SET";
  ::unsetenv(u.password_env.c_str());
  const auto message = config_error_of(u);
  EXPECT_EQ(message, "upstreams[ghcr.io].password_env: the environment variable it names is not set");
}

TEST_F(upstreams_test, credentials_that_load_give_a_source) {
  const auto password_file = dir_.path() / "password";
  std::ofstream(password_file) << "s3cret\n";
  auto u = upstream_at("ghcr.io", "https://ghcr.io");
  u.username = "someone";
  u.password_file = password_file.string();
  EXPECT_NE(make_upstream_source(u, workers_, metrics_)->registry, nullptr);
}

TEST_F(upstreams_test, unloadable_ca_file_is_a_config_error_naming_the_upstream) {
  auto u = upstream_at("registry.example.com", "https://registry.example.com");
  u.ca_file = (dir_.path() / "missing-ca.pem").string();
  const auto message = config_error_of(u);
  EXPECT_THAT(message, HasSubstr("upstreams (registry.example.com): TLS files:"));
  EXPECT_THAT(message, HasSubstr("ca_file"));
}

TEST_F(upstreams_test, password_never_appears_in_an_error) {
  auto u = upstream_at("ghcr.io", "https://ghcr.io");
  u.username = "someone";
  u.password_env = "hunter2-pasted-by-mistake";
  EXPECT_THAT(config_error_of(u), Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace regcache::app
