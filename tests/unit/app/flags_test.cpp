#include "regcache/app/flags.hpp"

#include "unit/store/test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace regcache::app {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

config::upstream_config upstream_named(std::string name, std::string url) {
  config::upstream_config u;
  u.name = std::move(name);
  u.url = std::move(url);
  return u;
}

TEST(apply_flags, no_flag_changes_nothing) {
  config::config cfg;
  cfg.upstreams.push_back(upstream_named("ghcr.io", "https://ghcr.io"));
  apply_flags(cfg, {});
  EXPECT_EQ(cfg.server.listen, config::config{}.server.listen);
  EXPECT_EQ(cfg.storage.root, config::config{}.storage.root);
  EXPECT_EQ(cfg.log.level, "info");
  EXPECT_EQ(cfg.admin.listen, config::config{}.admin.listen);
  ASSERT_EQ(cfg.upstreams.size(), 1u);
  EXPECT_FALSE(cfg.upstreams[0].offline);
  EXPECT_EQ(cfg.default_upstream, "");
}

TEST(apply_flags, given_flags_replace_their_keys) {
  config::config cfg;
  serve_flags flags;
  flags.listen = "127.0.0.1:6000";
  flags.data = "/var/cache/regcache";
  flags.log_level = "debug";
  flags.admin_listen = "127.0.0.1:6001";
  apply_flags(cfg, flags);
  EXPECT_EQ(cfg.server.listen, "127.0.0.1:6000");
  EXPECT_EQ(cfg.storage.root, "/var/cache/regcache");
  EXPECT_EQ(cfg.log.level, "debug");
  EXPECT_EQ(cfg.admin.listen, "127.0.0.1:6001");
}

TEST(apply_flags, docker_hub_upstream_is_named_docker_io_with_aliases) {
  for (const char* url : {"https://registry-1.docker.io", "https://index.docker.io", "https://docker.io:443"}) {
    config::config cfg;
    serve_flags flags;
    flags.upstream = url;
    apply_flags(cfg, flags);
    ASSERT_EQ(cfg.upstreams.size(), 1u) << url;
    EXPECT_EQ(cfg.upstreams[0].name, "docker.io") << url;
    EXPECT_EQ(cfg.upstreams[0].url, url);
    EXPECT_THAT(cfg.upstreams[0].aliases, ElementsAre("registry-1.docker.io", "index.docker.io"));
    EXPECT_FALSE(cfg.upstreams[0].insecure_http);
    EXPECT_EQ(cfg.default_upstream, "docker.io");
  }
}

TEST(apply_flags, upstream_name_keeps_a_port_other_than_the_schemes) {
  const std::pair<const char*, const char*> cases[] = {
      {"http://127.0.0.1:5001", "127.0.0.1:5001"},
      {"https://ghcr.io", "ghcr.io"},
      {"https://ghcr.io:443", "ghcr.io"},
      {"https://registry.example.com:8443/mirror", "registry.example.com:8443"},
      {"http://registry.local", "registry.local"},
  };
  for (const auto& [url, name] : cases) {
    config::config cfg;
    serve_flags flags;
    flags.upstream = url;
    apply_flags(cfg, flags);
    ASSERT_EQ(cfg.upstreams.size(), 1u);
    EXPECT_EQ(cfg.upstreams[0].name, name) << url;
    EXPECT_TRUE(cfg.upstreams[0].aliases.empty()) << url;
  }
}

TEST(apply_flags, http_upstream_on_the_command_line_opts_in_to_plain_http) {
  config::config cfg;
  serve_flags flags;
  flags.upstream = "http://127.0.0.1:5001";
  apply_flags(cfg, flags);
  EXPECT_TRUE(cfg.upstreams.at(0).insecure_http);
}

TEST(apply_flags, upstream_replaces_the_one_of_the_same_name_and_becomes_the_default) {
  config::config cfg;
  cfg.upstreams.push_back(upstream_named("ghcr.io", "https://ghcr.io"));
  auto hub = upstream_named("docker.io", "https://mirror.example.com");
  hub.username = "someone";
  cfg.upstreams.push_back(hub);
  cfg.default_upstream = "ghcr.io";
  serve_flags flags;
  flags.upstream = "https://registry-1.docker.io";
  apply_flags(cfg, flags);
  ASSERT_EQ(cfg.upstreams.size(), 2u);
  EXPECT_EQ(cfg.upstreams[0].name, "ghcr.io");
  EXPECT_EQ(cfg.upstreams[1].name, "docker.io");
  EXPECT_EQ(cfg.upstreams[1].url, "https://registry-1.docker.io");
  EXPECT_EQ(cfg.upstreams[1].username, "") << "the flag's upstream is a new one, not a merge";
  EXPECT_EQ(cfg.default_upstream, "docker.io");
}

TEST(apply_flags, offline_marks_every_upstream_the_flags_upstream_too) {
  config::config cfg;
  cfg.upstreams.push_back(upstream_named("ghcr.io", "https://ghcr.io"));
  serve_flags flags;
  flags.upstream = "https://quay.io";
  flags.offline = true;
  apply_flags(cfg, flags);
  ASSERT_EQ(cfg.upstreams.size(), 2u);
  EXPECT_TRUE(cfg.upstreams[0].offline);
  EXPECT_TRUE(cfg.upstreams[1].offline);
}

TEST(apply_flags, upstream_that_is_not_a_url_is_a_config_error) {
  for (const char* url : {"registry-1.docker.io", "ftp://example.com", "https://user:pw@example.com"}) {
    config::config cfg;
    serve_flags flags;
    flags.upstream = url;
    try {
      apply_flags(cfg, flags);
      ADD_FAILURE() << url << " was accepted";
    } catch (const config::config_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("--upstream:")) << url;
      EXPECT_THAT(e.what(), HasSubstr("is not an http:// or https:// URL")) << url;
    }
  }
}

TEST(is_docker_hub_host, names_every_docker_hub_host_and_nothing_else) {
  EXPECT_TRUE(is_docker_hub_host("docker.io"));
  EXPECT_TRUE(is_docker_hub_host("registry-1.docker.io"));
  EXPECT_TRUE(is_docker_hub_host("index.docker.io"));
  EXPECT_FALSE(is_docker_hub_host("ghcr.io"));
  EXPECT_FALSE(is_docker_hub_host("docker.io.example.com"));
}

class load_config_test : public ::testing::Test {
 protected:
  std::string write(std::string_view yaml) {
    const auto path = dir_.path() / "regcache.yaml";
    std::ofstream(path) << yaml;
    return path.string();
  }
  store::testing::temp_dir dir_;
};

TEST_F(load_config_test, flags_override_the_file_then_defaults_resolve_and_validate) {
  serve_flags flags;
  flags.config_file = write("server:\n  listen: 127.0.0.1:7000\nlog:\n  level: warn\n");
  flags.upstream = "http://127.0.0.1:5001";
  const auto cfg = load_config(flags);
  EXPECT_EQ(cfg.server.listen, "127.0.0.1:7000");
  EXPECT_EQ(cfg.log.level, "warn");
  EXPECT_EQ(cfg.default_upstream, "127.0.0.1:5001");
  flags.listen = "127.0.0.1:7100";
  EXPECT_EQ(load_config(flags).server.listen, "127.0.0.1:7100");
}

TEST_F(load_config_test, the_only_upstream_of_the_file_becomes_the_default) {
  serve_flags flags;
  flags.config_file = write("upstreams:\n  - name: ghcr.io\n    url: https://ghcr.io\n");
  EXPECT_EQ(load_config(flags).default_upstream, "ghcr.io");
}

TEST_F(load_config_test, a_bad_flag_is_reported_by_validation_with_its_key) {
  serve_flags flags;
  flags.listen = "localhost";
  try {
    (void)load_config(flags);
    ADD_FAILURE() << "a listen address without a port was accepted";
  } catch (const config::config_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("server.listen: \"localhost\" has no port"));
  }
  flags = {};
  flags.log_level = "loud";
  EXPECT_THROW((void)load_config(flags), config::config_error);
}

TEST_F(load_config_test, no_file_means_the_built_in_defaults) {
  const auto cfg = load_config({});
  EXPECT_EQ(cfg.server.listen, config::config{}.server.listen);
  EXPECT_TRUE(cfg.upstreams.empty());
}

}  // namespace
}  // namespace regcache::app
