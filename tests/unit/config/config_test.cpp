#include "regcache/config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace regcache::config {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The message of the config_error that `fn` throws, or a marker when it throws none.
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const config_error& e) {
    return e.what();
  }
  return "<no config_error thrown>";
}

std::string parse_error(const std::string& yaml) {
  return error_of([&] { (void)parse_yaml(yaml); });
}

std::string validate_error(const config& cfg) {
  return error_of([&] { validate(cfg); });
}

config with_upstream(std::string name = "docker.io", std::string url = "https://registry-1.docker.io") {
  config cfg;
  upstream_config u;
  u.name = std::move(name);
  u.url = std::move(url);
  u.insecure_http = u.url.starts_with("http://");
  cfg.upstreams.push_back(u);
  return cfg;
}


// ---------------------------------------------------------------- parsing

TEST(config, empty_document_is_all_defaults) {
  for (const char* text :
       {"", "{}", "# only a comment\n", "server:\nstorage:\nlog:\nmetrics:\nupstreams:\nadmin:\nprefetch:\n"}) {
    const config cfg = parse_yaml(text);
    EXPECT_EQ(cfg.server.listen, "127.0.0.1:5000") << text;
    EXPECT_EQ(cfg.server.max_header_bytes, 16u * 1024);
    EXPECT_EQ(cfg.server.idle_timeout, 60s);
    EXPECT_EQ(cfg.server.header_timeout, 10s);
    EXPECT_EQ(cfg.server.read_timeout, 30s);
    EXPECT_EQ(cfg.server.write_timeout, 5min);
    EXPECT_EQ(cfg.server.max_connections, 4096u);
    EXPECT_EQ(cfg.server.shutdown_grace, 30s);
    EXPECT_EQ(cfg.server.threads, 0u);
    EXPECT_EQ(cfg.server.hashing_threads, std::nullopt);
    EXPECT_EQ(cfg.storage.root, std::filesystem::path("./data"));
    EXPECT_EQ(cfg.storage.quota.bytes, 0u);
    EXPECT_DOUBLE_EQ(cfg.storage.quota.filesystem_share, 0.80);
    EXPECT_EQ(cfg.storage.min_free.bytes, 0u);
    EXPECT_DOUBLE_EQ(cfg.storage.min_free.filesystem_share, 0.10);
    EXPECT_DOUBLE_EQ(cfg.storage.high_watermark, 0.90);
    EXPECT_DOUBLE_EQ(cfg.storage.low_watermark, 0.80);
    EXPECT_EQ(cfg.storage.min_age, 10min);
    EXPECT_EQ(cfg.storage.max_unused_age, 0ms);
    EXPECT_EQ(cfg.storage.eviction_interval, 10s);
    EXPECT_TRUE(cfg.admin.enabled);
    EXPECT_EQ(cfg.admin.listen, "127.0.0.1:5001");
    EXPECT_EQ(cfg.prefetch.parallelism, 4u);
    EXPECT_TRUE(cfg.upstreams.empty());
    EXPECT_EQ(cfg.default_upstream, "");
    EXPECT_EQ(cfg.log.level, "info");
    EXPECT_EQ(cfg.log.format, "text");
    EXPECT_TRUE(cfg.log.access_log);
    EXPECT_TRUE(cfg.metrics.enabled);
    EXPECT_EQ(cfg.metrics.path, "/metrics");
    EXPECT_NO_THROW(validate(cfg));
  }
}

TEST(config, full_file) {
  const config cfg = parse_yaml(R"(
server:
  listen: "[::1]:8080"
  max_header_bytes: 32KiB
  idle_timeout: 2m
  header_timeout: 3s
  read_timeout: 10s
  write_timeout: 1h30m
  max_connections: 100
  shutdown_grace: 250ms
  threads: 4
  hashing_threads: 0
storage:
  root: /var/lib/regcache
  quota: 50GiB
  high_watermark: 95%
  low_watermark: 70.5%
  min_age: 1h
  max_unused_age: 30d
  eviction_interval: 1m
upstreams:
  - name: docker.io
    url: https://registry-1.docker.io
    aliases: [registry-1.docker.io, index.docker.io]
    username: me
    password_file: /run/secrets/hub
    ca_file: /etc/ca.pem
    tag_ttl: 10m
    connect_timeout: 3s
    read_timeout: 1m
    max_connections: 8
    min_transfer_rate: 1MiB
    min_transfer_window: 1m
  - name: 127.0.0.1:5001
    url: http://127.0.0.1:5001
    username: ci
    password_env: CI_REGISTRY_PASSWORD
    insecure_skip_verify: true
    insecure_http: true
    max_stale: 1h
    on_tag_not_found: serve_cached
    tag_ttl: 0
    send_ns: true
    h2c: true
    min_transfer_rate: 0
    offline: true
    allow_repositories: ["team/**", "library/*"]
    deny_repositories: [team/secret]
default_upstream: 127.0.0.1:5001
log:
  level: debug
  format: json
  access_log: false
metrics:
  enabled: false
  path: /internal/metrics
admin:
  enabled: false
  listen: "[::1]:9000"
  token_file: /etc/regcache/admin-token
prefetch:
  parallelism: 16
)");
  EXPECT_EQ(cfg.server.listen, "[::1]:8080");
  EXPECT_EQ(cfg.server.max_header_bytes, 32u * 1024);
  EXPECT_EQ(cfg.server.idle_timeout, 2min);
  EXPECT_EQ(cfg.server.header_timeout, 3s);
  EXPECT_EQ(cfg.server.read_timeout, 10s);
  EXPECT_EQ(cfg.server.write_timeout, 90min);
  EXPECT_EQ(cfg.server.max_connections, 100u);
  EXPECT_EQ(cfg.server.shutdown_grace, 250ms);
  EXPECT_EQ(cfg.server.threads, 4u);
  EXPECT_EQ(cfg.server.hashing_threads, 0u);
  EXPECT_EQ(cfg.storage.root, std::filesystem::path("/var/lib/regcache"));
  EXPECT_EQ(cfg.storage.quota.bytes, 50ull << 30);
  EXPECT_DOUBLE_EQ(cfg.storage.high_watermark, 0.95);
  EXPECT_DOUBLE_EQ(cfg.storage.low_watermark, 0.705);
  EXPECT_EQ(cfg.storage.min_age, 1h);
  EXPECT_EQ(cfg.storage.max_unused_age, std::chrono::hours(24 * 30));
  EXPECT_EQ(cfg.storage.eviction_interval, 1min);
  EXPECT_FALSE(cfg.admin.enabled);
  EXPECT_EQ(cfg.admin.listen, "[::1]:9000");
  EXPECT_EQ(cfg.admin.token_file, "/etc/regcache/admin-token");
  EXPECT_EQ(cfg.prefetch.parallelism, 16u);
  ASSERT_EQ(cfg.upstreams.size(), 2u);
  const auto& hub = cfg.upstreams[0];
  EXPECT_EQ(hub.name, "docker.io");
  EXPECT_EQ(hub.url, "https://registry-1.docker.io");
  EXPECT_EQ(hub.aliases, (std::vector<std::string>{"registry-1.docker.io", "index.docker.io"}));
  EXPECT_EQ(hub.username, "me");
  EXPECT_EQ(hub.password_file, "/run/secrets/hub");
  EXPECT_EQ(hub.password_env, "");
  EXPECT_EQ(hub.ca_file, "/etc/ca.pem");
  EXPECT_FALSE(hub.insecure_skip_verify);
  EXPECT_EQ(hub.tag_ttl, 10min);
  EXPECT_EQ(hub.connect_timeout, 3s);
  EXPECT_EQ(hub.read_timeout, 1min);
  EXPECT_EQ(hub.max_connections, 8u);
  EXPECT_EQ(hub.min_transfer_rate, 1024u * 1024u);
  EXPECT_EQ(hub.min_transfer_window, 1min);
  const auto& local = cfg.upstreams[1];
  EXPECT_EQ(local.min_transfer_rate, 0u) << "0 turns the floor off";
  EXPECT_EQ(local.name, "127.0.0.1:5001");
  EXPECT_EQ(local.password_env, "CI_REGISTRY_PASSWORD");
  EXPECT_TRUE(local.insecure_skip_verify);
  EXPECT_TRUE(local.insecure_http);
  EXPECT_EQ(local.max_stale, 1h);
  EXPECT_EQ(local.on_tag_not_found, "serve_cached");
  EXPECT_EQ(hub.on_tag_not_found, "follow");
  EXPECT_EQ(hub.max_stale, 0ms);
  EXPECT_EQ(local.tag_ttl, 0ms);
  EXPECT_TRUE(local.send_ns);
  EXPECT_FALSE(hub.send_ns);
  EXPECT_TRUE(local.h2c);
  EXPECT_FALSE(hub.h2c) << "HTTP/1.1 unless asked";
  EXPECT_TRUE(local.offline);
  EXPECT_FALSE(hub.offline);
  EXPECT_EQ(local.allow_repositories, (std::vector<std::string>{"team/**", "library/*"}));
  EXPECT_EQ(local.deny_repositories, (std::vector<std::string>{"team/secret"}));
  EXPECT_TRUE(hub.allow_repositories.empty());
  EXPECT_TRUE(hub.deny_repositories.empty());
  EXPECT_EQ(local.connect_timeout, 5s);
  EXPECT_EQ(local.max_connections, 64u);
  EXPECT_EQ(cfg.default_upstream, "127.0.0.1:5001");
  EXPECT_EQ(cfg.log.level, "debug");
  EXPECT_EQ(cfg.log.format, "json");
  EXPECT_FALSE(cfg.log.access_log);
  EXPECT_FALSE(cfg.metrics.enabled);
  EXPECT_EQ(cfg.metrics.path, "/internal/metrics");
  EXPECT_NO_THROW(validate(cfg));
}

TEST(config, durations_as_integers_and_strings) {
  const config cfg = parse_yaml(R"(
server:
  idle_timeout: 90
  read_timeout: "45"
  write_timeout: 1.5
  shutdown_grace: 1h30m
upstreams:
  - {name: ghcr.io, url: "https://ghcr.io", tag_ttl: 7d, connect_timeout: 500ms}
)");
  EXPECT_EQ(cfg.server.idle_timeout, 90s);
  EXPECT_EQ(cfg.server.read_timeout, 45s);
  EXPECT_EQ(cfg.server.write_timeout, 1500ms);
  EXPECT_EQ(cfg.server.shutdown_grace, 90min);
  EXPECT_EQ(cfg.upstreams.at(0).tag_ttl, std::chrono::hours(24 * 7));
  EXPECT_EQ(cfg.upstreams.at(0).connect_timeout, 500ms);
}

TEST(config, sizes_as_integers_and_strings) {
  EXPECT_EQ(parse_yaml("server: {max_header_bytes: 8192}").server.max_header_bytes, 8192u);
  EXPECT_EQ(parse_yaml("server: {max_header_bytes: 64KiB}").server.max_header_bytes, 65536u);
  EXPECT_EQ(parse_yaml("server: {max_header_bytes: 32KB}").server.max_header_bytes, 32000u);
  EXPECT_EQ(parse_yaml("server: {max_header_bytes: \"1MiB\"}").server.max_header_bytes, 1048576u);
}

TEST(config, bad_duration_names_key_value_and_examples) {
  EXPECT_EQ(parse_error("server:\n  idle_timeout: 5x\n"),
            "server.idle_timeout: \"5x\" is not a duration (use e.g. 250ms, 30s, 5m, 1h30m) (line 2, column 17)");
  EXPECT_THAT(parse_error("upstreams:\n  - name: a.io\n    tag_ttl: -5\n"),
              AllOf(StartsWith("upstreams[0].tag_ttl: \"-5\" is not a duration"), HasSubstr("line 3")));
}

TEST(config, bad_scalars_name_key_value_and_allowed_forms) {
  EXPECT_THAT(parse_error("server: {max_header_bytes: 16XB}"),
              AllOf(StartsWith("server.max_header_bytes: \"16XB\" is not a byte size"), HasSubstr("16KiB")));
  EXPECT_THAT(parse_error("server: {max_connections: many}"),
              StartsWith("server.max_connections: \"many\" is not a whole number"));
  EXPECT_THAT(parse_error("server: {threads: -1}"), StartsWith("server.threads: \"-1\" is not a whole number"));
  EXPECT_THAT(parse_error("server: {hashing_threads: many}"),
              StartsWith("server.hashing_threads: \"many\" is not allowed (auto, or a whole number of threads"));
  EXPECT_THAT(parse_error("server: {hashing_threads: [2]}"),
              StartsWith("server.hashing_threads: expected auto or a whole number, got a list"));
  EXPECT_EQ(parse_yaml("server: {hashing_threads: 3}").server.hashing_threads, 3u);
  EXPECT_EQ(parse_yaml("server: {hashing_threads: auto}").server.hashing_threads, std::nullopt);
  EXPECT_THAT(parse_error("server: {threads: 99999999999}"),
              StartsWith("server.threads: \"99999999999\" is out of range (up to 4294967295)"));
  EXPECT_THAT(parse_error("log: {access_log: yes}"),
              StartsWith("log.access_log: \"yes\" is not a boolean (use true or false)"));
  EXPECT_THAT(parse_error("server: {listen: [a, b]}"),
              StartsWith("server.listen: expected a string, got a list"));
  EXPECT_THAT(parse_error("server: {listen: }"), StartsWith("server.listen: expected a string, got nothing"));
  EXPECT_THAT(parse_error("server: 5000"), StartsWith("server: expected a mapping (listen, max_header_bytes,"));
  EXPECT_THAT(parse_error("- a\n- b\n"), StartsWith("top level: expected a mapping (server, storage, upstreams,"));
  EXPECT_THAT(parse_error("upstreams: {name: docker.io}"),
              StartsWith("upstreams: expected a list of upstreams (- name: ..., url: ...), got a mapping"));
  EXPECT_THAT(parse_error("upstreams:\n  -\n"), StartsWith("upstreams[0]: expected a mapping (name, url,"));
  EXPECT_THAT(parse_error("upstreams: [{name: a.io, aliases: b.io}]"),
              StartsWith("upstreams[0].aliases: expected a list of strings, got a single value"));
}

TEST(config, unknown_keys_list_what_is_allowed) {
  EXPECT_EQ(parse_error("server:\n  listne: 0.0.0.0:5000\n"),
            "server.listne: unknown key (allowed: listen, max_header_bytes, idle_timeout, header_timeout, read_timeout, "
            "write_timeout, max_connections, shutdown_grace, threads, hashing_threads, tls, http2) (line 2, column 3)");
  EXPECT_THAT(parse_error("stroage: {root: /x}"),
              StartsWith("stroage: unknown key (allowed: server, storage, upstreams, default_upstream, log, metrics, "
                         "admin, prefetch, auth, access, default_access, scan, verify)"));
  EXPECT_THAT(parse_error("storage: {qouta: 50GiB}"),
              StartsWith("storage.qouta: unknown key (allowed: root, quota, min_free, high_watermark, low_watermark, "
                         "min_age, max_unused_age, eviction_interval)"));
  EXPECT_THAT(parse_error("admin: {port: 5001}"), StartsWith("admin.port: unknown key (allowed: enabled, listen, token_file)"));
  EXPECT_THAT(parse_error("prefetch: {workers: 2}"),
              StartsWith("prefetch.workers: unknown key (allowed: parallelism)"));
  EXPECT_THAT(parse_error("log: {levle: debug}"),
              StartsWith("log.levle: unknown key (allowed: level, format, access_log)"));
  EXPECT_THAT(parse_error("metrics: {port: 9090}"), StartsWith("metrics.port: unknown key (allowed: enabled, path)"));
  EXPECT_THAT(parse_error("upstreams: [{name: a.io, tagttl: 5m}]"),
              AllOf(StartsWith("upstreams[0].tagttl: unknown key (allowed: name, url, aliases, username, "
                               "password_file, password_env, ca_file, client_cert_file, client_key_file, "
                               "insecure_skip_verify, insecure_http, tag_ttl, max_stale, on_tag_not_found, "
                               "connect_timeout, read_timeout, max_connections, send_ns, h2c, offline, min_transfer_rate, "
                               "min_transfer_window, allow_repositories, deny_repositories)")));
  EXPECT_THAT(parse_error("log: {level: info, level: debug}"), StartsWith("log.level: given twice"));
}

TEST(config, no_password_value_appears_in_any_error) {
  const std::string secret = "hunter2-S3cret";
  EXPECT_THAT(parse_error("upstreams: [{name: a.io, password: " + secret + "}]"),
              AllOf(StartsWith("upstreams[0].password: unknown key"), Not(HasSubstr(secret))));
  EXPECT_THAT(parse_error("upstreams: [{name: a.io, password_file: [" + secret + "]}]"),
              AllOf(StartsWith("upstreams[0].password_file: expected a string"), Not(HasSubstr(secret))));

  auto cfg = with_upstream("a.io", "https://user:" + secret + "@a.io");
  EXPECT_THAT(validate_error(cfg), AllOf(StartsWith("upstreams[0].url: credentials in the URL are not allowed"),
                                         Not(HasSubstr(secret))));
  cfg.upstreams[0].url = "user:" + secret + "@a.io";  // no scheme: still never echoed
  EXPECT_THAT(validate_error(cfg),
              AllOf(StartsWith("upstreams[0].url: the URL is not an http:// or https:// URL"), Not(HasSubstr(secret))));

  cfg = with_upstream("a.io", "https://a.io");
  cfg.upstreams[0].username = "me";
  cfg.upstreams[0].password_env = secret + "!";  // the password pasted where a variable name belongs
  EXPECT_THAT(validate_error(cfg), AllOf(StartsWith("upstreams[0].password_env: is not an environment variable name"),
                                         Not(HasSubstr(secret))));
}

TEST(config, quota_is_a_size_or_a_share_of_the_filesystem) {
  auto quota = parse_yaml("storage: {quota: 80%}").storage.quota;
  EXPECT_EQ(quota.bytes, 0u);
  EXPECT_DOUBLE_EQ(quota.filesystem_share, 0.8);
  quota = parse_yaml("storage: {quota: 12.5%}").storage.quota;
  EXPECT_DOUBLE_EQ(quota.filesystem_share, 0.125);
  EXPECT_EQ(parse_yaml("storage: {quota: 1TB}").storage.quota.bytes, 1'000'000'000'000u);
  EXPECT_EQ(parse_yaml("storage: {quota: 1048576}").storage.quota.bytes, 1048576u);

  for (const char* bad : {"0", "0%", "150%", "lots", "-5GiB", "50GiB%"}) {
    EXPECT_THAT(parse_error(std::string("storage: {quota: \"") + bad + "\"}"),
                StartsWith("storage.quota: \"" + std::string(bad) +
                           "\" is not a size or a percentage of the filesystem (use e.g. 50GiB or 80%; more than 0, "
                           "at most 100%)"))
        << bad;
  }
  EXPECT_THAT(parse_error("storage: {quota: [1]}"),
              StartsWith("storage.quota: expected a size or a percentage, got a list"));
}

TEST(config, min_free_is_a_size_a_share_of_the_filesystem_or_off) {
  auto min_free = parse_yaml("storage: {min_free: 15%}").storage.min_free;
  EXPECT_EQ(min_free.bytes, 0u);
  EXPECT_DOUBLE_EQ(min_free.filesystem_share, 0.15);
  min_free = parse_yaml("storage: {min_free: 5GiB}").storage.min_free;
  EXPECT_EQ(min_free.bytes, 5ull << 30);
  EXPECT_DOUBLE_EQ(min_free.filesystem_share, 0) << "a size replaces the default share";
  min_free = parse_yaml("storage: {min_free: 0}").storage.min_free;
  EXPECT_EQ(min_free.bytes, 0u);
  EXPECT_DOUBLE_EQ(min_free.filesystem_share, 0) << "0 turns it off";

  for (const char* bad : {"0%", "100%", "150%", "lots", "-5GiB", "5GiB%"}) {
    EXPECT_THAT(parse_error(std::string("storage: {min_free: \"") + bad + "\"}"),
                StartsWith("storage.min_free: \"" + std::string(bad) +
                           "\" is not a size or a percentage of the filesystem (use e.g. 5GiB or 10%; a size, 0 to "
                           "turn it off, or more than 0% and below 100%)"))
        << bad;
  }
}

TEST(config_validate, min_free) {
  config cfg;
  cfg.storage.min_free = {.bytes = 0, .filesystem_share = 1.0};
  EXPECT_EQ(validate_error(cfg), "storage.min_free: 100% is not allowed (a size, 0 to turn it off, or more than 0% "
                                 "and below 100%; default 10%)");
  cfg.storage.min_free = {.bytes = 0, .filesystem_share = 0};
  EXPECT_NO_THROW(validate(cfg)) << "off";
  cfg.storage.min_free = {.bytes = 1, .filesystem_share = 0};
  EXPECT_NO_THROW(validate(cfg));
}

TEST(config, watermarks_and_eviction_durations) {
  const auto storage = parse_yaml("storage: {high_watermark: 85%, low_watermark: 60%, min_age: 0, "
                                  "max_unused_age: 7d, eviction_interval: 500ms}")
                           .storage;
  EXPECT_DOUBLE_EQ(storage.high_watermark, 0.85);
  EXPECT_DOUBLE_EQ(storage.low_watermark, 0.60);
  EXPECT_EQ(storage.min_age, 0ms);
  EXPECT_EQ(storage.max_unused_age, std::chrono::hours(24 * 7));
  EXPECT_EQ(storage.eviction_interval, 500ms);
  EXPECT_EQ(parse_error("storage:\n  high_watermark: 90\n"),
            "storage.high_watermark: \"90\" is not a percentage (use e.g. 90%; allowed: more than 0% up to 100%) "
            "(line 2, column 19)");
  EXPECT_THAT(parse_error("storage: {low_watermark: 0%}"),
              StartsWith("storage.low_watermark: \"0%\" is not a percentage"));
  EXPECT_THAT(parse_error("storage: {min_age: soon}"), StartsWith("storage.min_age: \"soon\" is not a duration"));
}

TEST(config, admin_upstream_offline_and_prefetch) {
  EXPECT_THAT(parse_error("admin: {enabled: maybe}"), StartsWith("admin.enabled: \"maybe\" is not a boolean"));
  EXPECT_THAT(parse_error("upstreams: [{name: a.io, offline: 1}]"),
              StartsWith("upstreams[0].offline: \"1\" is not a boolean"));
  EXPECT_THAT(parse_error("prefetch: {parallelism: -2}"),
              StartsWith("prefetch.parallelism: \"-2\" is not a whole number"));
  EXPECT_TRUE(parse_yaml("upstreams: [{name: a.io, url: \"https://a.io\", offline: true}]").upstreams.at(0).offline);
}

TEST(config, egress_lists_are_validated_and_name_the_key) {
  EXPECT_THAT(parse_error("upstreams: [{name: a.io, allow_repositories: []}]"),
              AllOf(StartsWith("upstreams[0].allow_repositories: an empty list allows no repository"),
                    HasSubstr("leave the key out")));
  EXPECT_THAT(parse_error("upstreams: [{name: a.io, deny_repositories: team/*}]"),
              StartsWith("upstreams[0].deny_repositories: expected a list of strings"));
  EXPECT_TRUE(parse_yaml("upstreams: [{name: a.io, deny_repositories: []}]").upstreams.at(0).deny_repositories.empty());
  auto cfg = with_upstream();
  cfg.upstreams[0].allow_repositories = {"library/**", "Team/*"};
  EXPECT_THAT(validate_error(cfg), AllOf(StartsWith("upstreams[0].allow_repositories[1]: \"Team/*\" is not a "
                                                    "repository pattern"),
                                         HasSubstr("library/*, team-a/**")));
  cfg.upstreams[0].allow_repositories = {"library/**"};
  cfg.upstreams[0].deny_repositories = {"a//b"};
  EXPECT_THAT(validate_error(cfg), StartsWith("upstreams[0].deny_repositories[0]: \"a//b\" is not a repository"));
  cfg.upstreams[0].deny_repositories = {"library/secret-*", "**/internal"};
  EXPECT_NO_THROW(validate(cfg));
}

TEST(config, admin_beyond_loopback_requires_a_token_file) {
  config cfg;
  for (const char* listen : {"127.0.0.1:5001", "127.8.9.10:5001", "[::1]:5001", "localhost:5001"}) {
    cfg.admin.listen = listen;
    EXPECT_NO_THROW(validate(cfg)) << listen;
  }
  for (const char* listen : {"0.0.0.0:5001", "[::]:5001", "10.0.0.5:5001", "admin.example:5001", "[::ffff:7f00:1]:5001"}) {
    cfg.admin.listen = listen;
    EXPECT_THAT(validate_error(cfg), AllOf(StartsWith("admin.token_file: must be set when admin.listen"),
                                           HasSubstr(listen), HasSubstr("not a loopback address")))
        << listen;
  }
  cfg.admin.token_file = "/etc/regcache/admin-token";
  EXPECT_NO_THROW(validate(cfg));
  cfg.admin.token_file.clear();
  cfg.admin.enabled = false;
  EXPECT_NO_THROW(validate(cfg)) << "no admin listener, nothing to protect";
}

TEST(config, loopback_hosts) {
  for (const char* host : {"127.0.0.1", "127.255.0.1", "::1", "localhost", "0:0:0:0:0:0:0:1"})
    EXPECT_TRUE(is_loopback_host(host)) << host;
  for (const char* host : {"0.0.0.0", "::", "128.0.0.1", "10.0.0.1", "localhost.example", "127.0.0.1.nip.io", ""})
    EXPECT_FALSE(is_loopback_host(host)) << host;
}

TEST(config, yaml_syntax_error_has_line_and_column) {
  EXPECT_EQ(parse_error("server:\n  listen: a: b\n"), "YAML syntax error: illegal map value (line 2, column 12)");
  EXPECT_EQ(parse_error("server:\n  listen: 0.0.0.0:5000\n bad: x\n"),
            "YAML syntax error: end of map not found (line 3, column 2)");
  EXPECT_THAT(parse_error("upstreams: [{name: a.io}\n"),
              AllOf(StartsWith("YAML syntax error: end of sequence flow not found"), HasSubstr("(line ")));
}

// ---------------------------------------------------------------- files

TEST(config, documented_default_file_loads_and_validates) {
  // An absolute path from the build: __FILE__ may be relative (ccache base_dir).
  const auto path = std::filesystem::path(REGCACHE_SOURCE_DIR) / "conf/regcache.yaml";
  config cfg = load_file(path);
  validate(cfg);
  resolve_defaults(cfg);

  // The documented file states the built-in defaults.
  const config defaults;
  EXPECT_EQ(cfg.server.listen, defaults.server.listen);
  EXPECT_EQ(cfg.server.max_header_bytes, defaults.server.max_header_bytes);
  EXPECT_EQ(cfg.server.idle_timeout, defaults.server.idle_timeout);
  EXPECT_EQ(cfg.server.header_timeout, defaults.server.header_timeout);
  EXPECT_EQ(cfg.server.read_timeout, defaults.server.read_timeout);
  EXPECT_EQ(cfg.server.write_timeout, defaults.server.write_timeout);
  EXPECT_EQ(cfg.server.max_connections, defaults.server.max_connections);
  EXPECT_EQ(cfg.server.shutdown_grace, defaults.server.shutdown_grace);
  EXPECT_EQ(cfg.server.threads, defaults.server.threads);
  EXPECT_EQ(cfg.storage.root, std::filesystem::path("./data"));
  EXPECT_EQ(cfg.storage.quota.bytes, defaults.storage.quota.bytes);
  EXPECT_DOUBLE_EQ(cfg.storage.quota.filesystem_share, defaults.storage.quota.filesystem_share);
  EXPECT_DOUBLE_EQ(cfg.storage.high_watermark, defaults.storage.high_watermark);
  EXPECT_DOUBLE_EQ(cfg.storage.low_watermark, defaults.storage.low_watermark);
  EXPECT_EQ(cfg.storage.min_age, defaults.storage.min_age);
  EXPECT_EQ(cfg.storage.max_unused_age, defaults.storage.max_unused_age);
  EXPECT_EQ(cfg.storage.eviction_interval, defaults.storage.eviction_interval);
  EXPECT_EQ(cfg.admin.enabled, defaults.admin.enabled);
  EXPECT_EQ(cfg.admin.listen, defaults.admin.listen);
  EXPECT_EQ(cfg.prefetch.parallelism, defaults.prefetch.parallelism);
  ASSERT_EQ(cfg.upstreams.size(), 1u);
  const auto& hub = cfg.upstreams[0];
  const upstream_config upstream_defaults;
  EXPECT_EQ(hub.offline, upstream_defaults.offline);
  EXPECT_EQ(hub.name, "docker.io");
  EXPECT_EQ(hub.url, "https://registry-1.docker.io");
  EXPECT_EQ(hub.tag_ttl, 5min);
  EXPECT_EQ(hub.username, "");
  EXPECT_EQ(hub.password_file, "");
  EXPECT_EQ(hub.password_env, "");
  EXPECT_EQ(hub.ca_file, "");
  EXPECT_EQ(hub.insecure_skip_verify, upstream_defaults.insecure_skip_verify);
  EXPECT_EQ(hub.connect_timeout, upstream_defaults.connect_timeout);
  EXPECT_EQ(hub.read_timeout, upstream_defaults.read_timeout);
  EXPECT_EQ(hub.max_connections, upstream_defaults.max_connections);
  EXPECT_EQ(hub.min_transfer_rate, 64u * 1024u);
  EXPECT_EQ(hub.min_transfer_window, 30s);
  EXPECT_EQ(cfg.default_upstream, "docker.io");
  EXPECT_EQ(cfg.log.level, defaults.log.level);
  EXPECT_EQ(cfg.log.format, defaults.log.format);
  EXPECT_EQ(cfg.log.access_log, defaults.log.access_log);
  EXPECT_EQ(cfg.metrics.enabled, defaults.metrics.enabled);
  EXPECT_EQ(cfg.metrics.path, defaults.metrics.path);
  EXPECT_TRUE(cfg.verify.empty());
}

class config_file : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("regcache_config_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(config_file, errors_are_prefixed_with_the_path) {
  const auto path = write("bad.yaml", "server:\n  idle_timeout: 5x\n");
  EXPECT_EQ(error_of([&] { (void)load_file(path); }),
            path.string() +
                ": server.idle_timeout: \"5x\" is not a duration (use e.g. 250ms, 30s, 5m, 1h30m) (line 2, column 17)");
  const auto syntax = write("syntax.yaml", "log: [\n");
  EXPECT_THAT(error_of([&] { (void)load_file(syntax); }), StartsWith(syntax.string() + ": YAML syntax error: "));
}

TEST_F(config_file, missing_file_and_directory) {
  EXPECT_THAT(error_of([&] { (void)load_file(dir_ / "absent.yaml"); }),
              AllOf(HasSubstr("absent.yaml: cannot open: "), HasSubstr("No such file")));
  EXPECT_THAT(error_of([&] { (void)load_file(dir_); }), HasSubstr(": is a directory, not a file"));
}

TEST_F(config_file, loads_a_file) {
  const auto path = write("ok.yaml", "storage: {root: /srv/cache}\nlog: {level: warn}\n");
  const config cfg = load_file(path);
  EXPECT_EQ(cfg.storage.root, std::filesystem::path("/srv/cache"));
  EXPECT_EQ(cfg.log.level, "warn");
}

// ---------------------------------------------------------------- validation

TEST(config_validate, listen_address) {
  config cfg;
  for (const char* ok : {"0.0.0.0:5000", "127.0.0.1:1", "localhost:65535", "[::1]:5000", "[::]:5000",
                         "[fe80::1:2]:80", "cache.example.com:443", "127.0.0.1:0"}) {
    cfg.server.listen = ok;
    EXPECT_NO_THROW(validate(cfg)) << ok;
  }
  cfg.server.listen = "0.0.0.0";
  EXPECT_THAT(validate_error(cfg), StartsWith("server.listen: \"0.0.0.0\" has no port (use e.g. 0.0.0.0:5000,"));
  cfg.server.listen = "0.0.0.0:70000";
  EXPECT_EQ(validate_error(cfg),
            "server.listen: \"0.0.0.0:70000\" has port \"70000\" (allowed: 0-65535, 0 = any free port)");
  cfg.server.listen = "0.0.0.0:http";
  EXPECT_THAT(validate_error(cfg), HasSubstr("(allowed: 0-65535, 0 = any free port)"));
  cfg.server.listen = "::1:5000";
  EXPECT_THAT(validate_error(cfg),
              StartsWith("server.listen: \"::1:5000\" is not host:port (use e.g. 0.0.0.0:5000, 127.0.0.1:5000 or "
                         "[::1]:5000; IPv6 addresses go in brackets)"));
  cfg.server.listen = "[::g]:5000";
  EXPECT_THAT(validate_error(cfg), StartsWith("server.listen: \"[::g]:5000\" has an invalid host \"::g\""));
  cfg.server.listen = "300.1.1.1:5000";
  EXPECT_THAT(validate_error(cfg), HasSubstr("has an invalid host \"300.1.1.1\""));
  cfg.server.listen = ":5000";
  EXPECT_THAT(validate_error(cfg), StartsWith("server.listen: \":5000\" has no host"));
}

TEST(config_validate, split_listen) {
  EXPECT_EQ(split_listen("0.0.0.0:5000"), (std::pair<std::string, std::uint16_t>{"0.0.0.0", 5000}));
  EXPECT_EQ(split_listen("[::1]:5000"), (std::pair<std::string, std::uint16_t>{"::1", 5000}));
  EXPECT_EQ(split_listen("[::]:65535"), (std::pair<std::string, std::uint16_t>{"::", 65535}));
  EXPECT_EQ(split_listen("localhost:1"), (std::pair<std::string, std::uint16_t>{"localhost", 1}));
  EXPECT_THAT(error_of([] { (void)split_listen("[::1]"); }), StartsWith("listen address \"[::1]\" has no port"));
  EXPECT_THAT(error_of([] { (void)split_listen("[::1]5000"); }), HasSubstr("is not host:port"));
  EXPECT_THAT(error_of([] { (void)split_listen("host:99999"); }), HasSubstr("(allowed: 0-65535, 0 = any free port)"));
}

TEST(config_validate, limits_and_timeouts) {
  config cfg;
  cfg.server.idle_timeout = 0ms;
  EXPECT_EQ(validate_error(cfg), "server.idle_timeout: 0s is not allowed (must be greater than 0, default 1m)");
  cfg = {};
  cfg.server.write_timeout = -1500ms;
  EXPECT_EQ(validate_error(cfg),
            "server.write_timeout: -1s500ms is not allowed (must be greater than 0, default 5m)");
  cfg = {};
  cfg.server.read_timeout = 0ms;
  EXPECT_THAT(validate_error(cfg), StartsWith("server.read_timeout: 0s is not allowed"));
  cfg = {};
  cfg.server.header_timeout = 0ms;
  EXPECT_EQ(validate_error(cfg), "server.header_timeout: 0s is not allowed (must be greater than 0, default 10s)");
  cfg = {};
  cfg.server.shutdown_grace = 0ms;
  EXPECT_THAT(validate_error(cfg), StartsWith("server.shutdown_grace: 0s is not allowed"));
  cfg = {};
  cfg.server.max_connections = 0;
  EXPECT_EQ(validate_error(cfg), "server.max_connections: 0 is not allowed (must be at least 1, default 4096)");
  cfg = {};
  cfg.server.max_header_bytes = 512;
  EXPECT_EQ(validate_error(cfg),
            "server.max_header_bytes: 512 is not allowed (must be between 1KiB and 1MiB, default 16KiB)");
  cfg.server.max_header_bytes = 2 * 1024 * 1024;
  EXPECT_THAT(validate_error(cfg), StartsWith("server.max_header_bytes: 2097152 is not allowed"));
  cfg = {};
  cfg.storage.root.clear();
  EXPECT_EQ(validate_error(cfg), "storage.root: must not be empty (default ./data)");

  cfg = with_upstream();
  cfg.upstreams[0].connect_timeout = 0ms;
  EXPECT_EQ(validate_error(cfg),
            "upstreams[0].connect_timeout: 0s is not allowed (must be greater than 0, default 5s)");
  cfg = with_upstream();
  cfg.upstreams[0].read_timeout = 0ms;
  EXPECT_THAT(validate_error(cfg), StartsWith("upstreams[0].read_timeout: 0s is not allowed"));
  cfg = with_upstream();
  cfg.upstreams[0].min_transfer_window = 0ms;
  EXPECT_EQ(validate_error(cfg),
            "upstreams[0].min_transfer_window: 0s is not allowed (must be greater than 0, default 30s)");
  cfg = with_upstream();
  cfg.upstreams[0].max_connections = 0;
  EXPECT_EQ(validate_error(cfg), "upstreams[0].max_connections: 0 is not allowed (must be at least 1, default 64)");
  cfg = with_upstream();
  cfg.upstreams[0].tag_ttl = 0ms;
  EXPECT_NO_THROW(validate(cfg));
  cfg.upstreams[0].tag_ttl = -1s;
  EXPECT_THAT(validate_error(cfg), StartsWith("upstreams[0].tag_ttl: -1s is not allowed (must be 0 or more"));
}

TEST(config_validate, upstream_names) {
  for (const char* ok : {"docker.io", "ghcr.io", "127.0.0.1:5001", "localhost:5000", "my-registry.example.com",
                         "[::1]:5001", "registry.k8s.io"}) {
    EXPECT_NO_THROW(validate(with_upstream(ok))) << ok;
  }
  EXPECT_EQ(validate_error(with_upstream("")),
            "upstreams[0].name: must not be empty (the registry host as clients name it, e.g. docker.io)");
  EXPECT_EQ(validate_error(with_upstream("Docker.io")),
            "upstreams[0].name: \"Docker.io\" must be lowercase (clients send registry hosts in lowercase)");
  EXPECT_EQ(validate_error(with_upstream("docker io")),
            "upstreams[0].name: \"docker io\" is not a registry host (use lowercase host[:port], e.g. docker.io, "
            "ghcr.io, 127.0.0.1:5001)");
  EXPECT_THAT(validate_error(with_upstream("-bad.io")), HasSubstr("is not a registry host"));
  EXPECT_THAT(validate_error(with_upstream("a.io:0")), HasSubstr("is not a registry host"));
  EXPECT_THAT(validate_error(with_upstream("https://ghcr.io")),
              StartsWith("upstreams[0].name: \"https://ghcr.io\" is not a registry host: give the host only"));

  auto cfg = with_upstream();
  cfg.upstreams.push_back(cfg.upstreams[0]);
  cfg.default_upstream = "docker.io";
  EXPECT_EQ(validate_error(cfg),
            "upstreams[1].name: \"docker.io\" is already used by upstreams[0].name (names and aliases must be unique)");

  cfg = with_upstream();
  cfg.upstreams[0].aliases = {"index.docker.io", "Index.docker.io"};
  EXPECT_THAT(validate_error(cfg), StartsWith("upstreams[0].aliases[1]: \"Index.docker.io\" must be lowercase"));
  cfg.upstreams[0].aliases = {"index.docker.io"};
  cfg.upstreams.push_back(with_upstream("quay.io", "https://quay.io").upstreams[0]);
  cfg.upstreams[1].aliases = {"index.docker.io"};
  cfg.default_upstream = "quay.io";
  EXPECT_EQ(validate_error(cfg), "upstreams[1].aliases[0]: \"index.docker.io\" is already used by "
                                 "upstreams[0].aliases[0] (names and aliases must be unique)");
}

TEST(config_validate, plain_http_needs_the_opt_in) {
  auto cfg = with_upstream("a.io", "http://a.io");
  cfg.upstreams[0].insecure_http = false;
  EXPECT_THAT(validate_error(cfg), StartsWith("upstreams[0].url: \"http://a.io\" is plain HTTP: set insecure_http: true"));
}

TEST(config_validate, h2c_needs_a_plain_http_url) {
  auto cfg = with_upstream("a.io", "http://tier.cluster:5000");
  cfg.upstreams[0].h2c = true;
  EXPECT_NO_THROW(validate(cfg));
  cfg = with_upstream("a.io", "https://tier.cluster");
  cfg.upstreams[0].h2c = true;
  EXPECT_THAT(validate_error(cfg), StartsWith("upstreams[0].h2c: needs an http:// url"));
}

TEST(config_validate, tls_client_certificate_and_tag_policies) {
  auto cfg = with_upstream();
  cfg.upstreams[0].client_cert_file = "/etc/c.pem";
  EXPECT_EQ(validate_error(cfg), "upstreams[0].client_key_file: must be set together with client_cert_file");
  cfg.upstreams[0].client_key_file = "/etc/k.pem";
  EXPECT_NO_THROW(validate(cfg));
  cfg.upstreams[0].on_tag_not_found = "ignore";
  EXPECT_EQ(validate_error(cfg),
            "upstreams[0].on_tag_not_found: \"ignore\" is not a policy (allowed: follow, serve_cached)");
}

TEST(config_validate, upstream_urls) {
  for (const char* ok : {"https://registry-1.docker.io", "http://127.0.0.1:5001", "https://ghcr.io/",
                         "https://[::1]:5001", "https://artifactory.example.com/api/docker/remote"}) {
    EXPECT_NO_THROW(validate(with_upstream("docker.io", ok))) << ok;
  }
  EXPECT_EQ(validate_error(with_upstream("docker.io", "")),
            "upstreams[0].url: must be set (the registry endpoint, e.g. https://registry-1.docker.io)");
  EXPECT_EQ(validate_error(with_upstream("docker.io", "ftp://x.io")),
            "upstreams[0].url: \"ftp://x.io\" is not an http:// or https:// URL with a host "
            "(e.g. https://registry-1.docker.io)");
  for (const char* bad : {"registry-1.docker.io", "https://", "https:///v2", "https://a.io:99999", "http://a b",
                          "HTTPS://ghcr.io"}) {
    EXPECT_THAT(validate_error(with_upstream("docker.io", bad)),
                HasSubstr("is not an http:// or https:// URL with a host"))
        << bad;
  }
  EXPECT_EQ(validate_error(with_upstream("docker.io", "https://a.io/v2?token=abc")),
            "upstreams[0].url: a query or fragment is not allowed (use scheme://host[:port][/path])");
  EXPECT_THAT(validate_error(with_upstream("docker.io", "a.io?token=abc")),
              AllOf(StartsWith("upstreams[0].url: the URL is not"), Not(HasSubstr("abc"))));
}

TEST(config_validate, upstream_credentials) {
  auto cfg = with_upstream();
  cfg.upstreams[0].username = "me";
  cfg.upstreams[0].password_file = "/run/secrets/p";
  EXPECT_NO_THROW(validate(cfg));
  cfg.upstreams[0].password_env = "P";
  EXPECT_EQ(validate_error(cfg), "upstreams[0]: set only one of password_file and password_env");
  cfg.upstreams[0].password_file.clear();
  EXPECT_NO_THROW(validate(cfg));
  cfg.upstreams[0].username.clear();
  EXPECT_EQ(validate_error(cfg), "upstreams[0].username: must be set when password_file or password_env is");
}

TEST(config_validate, log_and_metrics) {
  config cfg;
  cfg.log.level = "verbose";
  EXPECT_EQ(validate_error(cfg),
            "log.level: \"verbose\" is not a log level (allowed: trace, debug, info, warn, error, off)");
  cfg = {};
  cfg.log.format = "xml";
  EXPECT_EQ(validate_error(cfg), "log.format: \"xml\" is not a log format (allowed: text, json)");
  cfg = {};
  cfg.metrics.path = "metrics";
  EXPECT_EQ(validate_error(cfg), "metrics.path: \"metrics\" must start with '/' (e.g. /metrics)");
  cfg.metrics.path = "/v2/metrics";
  EXPECT_THAT(validate_error(cfg), StartsWith("metrics.path: \"/v2/metrics\" is inside the registry API"));
  cfg.metrics.path = "/metrics?x";
  EXPECT_THAT(validate_error(cfg), HasSubstr("must be a plain path"));
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
    cfg = {};
    cfg.log.level = level;
    EXPECT_NO_THROW(validate(cfg)) << level;
  }
}

TEST(config_validate, quota_and_watermarks) {
  config cfg;
  cfg.storage.quota = {.bytes = 0, .filesystem_share = 0};
  EXPECT_EQ(validate_error(cfg),
            "storage.quota: 0% is not allowed (a size of more than 0 bytes, or more than 0% up to 100%; default 80%)");
  cfg.storage.quota = {.bytes = 1, .filesystem_share = 0};
  EXPECT_NO_THROW(validate(cfg)) << "a size makes the share irrelevant";
  cfg.storage.quota = {.bytes = 0, .filesystem_share = 1.0};
  EXPECT_NO_THROW(validate(cfg));

  cfg = {};
  cfg.storage.high_watermark = 1.2;
  EXPECT_EQ(validate_error(cfg),
            "storage.high_watermark: 120% is not allowed (more than 0% up to 100% of the quota, default 90%)");
  cfg.storage.high_watermark = 0;
  EXPECT_THAT(validate_error(cfg), StartsWith("storage.high_watermark: 0% is not allowed"));
  cfg = {};
  cfg.storage.low_watermark = 0.9;
  EXPECT_EQ(validate_error(cfg),
            "storage.low_watermark: 90% is not allowed (more than 0% and below storage.high_watermark, 90%; "
            "default 80%)");
  cfg.storage.high_watermark = 0.955;
  EXPECT_NO_THROW(validate(cfg));
  cfg.storage.low_watermark = 0.96;
  EXPECT_THAT(validate_error(cfg), HasSubstr("below storage.high_watermark, 95.5%"));
  cfg.storage.low_watermark = 0;
  EXPECT_THAT(validate_error(cfg), StartsWith("storage.low_watermark: 0% is not allowed"));
  cfg = {};
  cfg.storage.high_watermark = 1.0;
  cfg.storage.low_watermark = 0.99;
  EXPECT_NO_THROW(validate(cfg));
}

TEST(config_validate, eviction_durations) {
  config cfg;
  cfg.storage.min_age = 0ms;
  cfg.storage.max_unused_age = 0ms;
  EXPECT_NO_THROW(validate(cfg));
  cfg.storage.min_age = -1s;
  EXPECT_EQ(validate_error(cfg),
            "storage.min_age: -1s is not allowed (must be 0 or more; 0 lets just-used content go, default 10m)");
  cfg = {};
  cfg.storage.max_unused_age = -1min;
  EXPECT_EQ(validate_error(cfg), "storage.max_unused_age: -1m is not allowed (must be 0 or more; 0 = never)");
  cfg = {};
  cfg.storage.eviction_interval = 0ms;
  EXPECT_EQ(validate_error(cfg),
            "storage.eviction_interval: 0s is not allowed (must be greater than 0, default 10s)");
}

TEST(config_validate, admin_listen) {
  config cfg;
  cfg.admin.listen = "127.0.0.1";
  EXPECT_THAT(validate_error(cfg), StartsWith("admin.listen: \"127.0.0.1\" has no port"));
  cfg.admin.listen = "127.0.0.1:99999";
  EXPECT_EQ(validate_error(cfg),
            "admin.listen: \"127.0.0.1:99999\" has port \"99999\" (allowed: 0-65535, 0 = any free port)");
  cfg.server.listen = "127.0.0.1:0";
  cfg.admin.listen = "127.0.0.1:0";
  EXPECT_NO_THROW(validate(cfg)) << "two listeners on port 0 get distinct free ports";
  cfg.server.listen = "0.0.0.0:5000";
  cfg.admin.listen = "127.0.0.1:5000";  // 0.0.0.0:5000 is every address, this one too
  EXPECT_EQ(validate_error(cfg), "admin.listen: \"127.0.0.1:5000\" overlaps server.listen \"0.0.0.0:5000\" "
                                 "(use another port, e.g. 127.0.0.1:5001)");
  cfg.server.listen = "127.0.0.1:5000";
  EXPECT_EQ(validate_error(cfg), "admin.listen: \"127.0.0.1:5000\" overlaps server.listen \"127.0.0.1:5000\" "
                                 "(use another port, e.g. 127.0.0.1:5001)");
  cfg.server.listen = "0.0.0.0:5000";
  cfg.admin.enabled = false;
  EXPECT_NO_THROW(validate(cfg)) << "a disabled admin listener does not bind";
  cfg = {};
  cfg.server.listen = "10.0.0.1:5000";
  cfg.admin.listen = "127.0.0.1:5000";
  EXPECT_NO_THROW(validate(cfg)) << "same port, different addresses";
  cfg.admin.listen = "[::]:5000";
  cfg.admin.token_file = "/etc/regcache/admin-token";
  EXPECT_THAT(validate_error(cfg), HasSubstr("overlaps server.listen"));
  cfg = {};
  cfg.admin.listen = "[::1]:9000";
  EXPECT_NO_THROW(validate(cfg));
}

TEST(config_parse, server_tls) {
  config cfg = parse_yaml(R"(
server:
  listen: 127.0.0.1:5000
  tls:
    listen: 0.0.0.0:5443
    cert_file: /tls/tls.crt
    key_file: /tls/tls.key
    client_ca_file: /tls/clients.crt
    client_auth: require
    min_version: 1.3
)");
  EXPECT_TRUE(cfg.server.tls.enabled);
  EXPECT_EQ(cfg.server.listen, "127.0.0.1:5000");
  EXPECT_EQ(cfg.server.tls.listen, "0.0.0.0:5443");
  EXPECT_EQ(cfg.server.tls.cert_file, "/tls/tls.crt");
  EXPECT_EQ(cfg.server.tls.key_file, "/tls/tls.key");
  EXPECT_EQ(cfg.server.tls.client_ca_file, "/tls/clients.crt");
  EXPECT_EQ(cfg.server.tls.client_auth, "require");
  EXPECT_EQ(cfg.server.tls.min_version, "1.3");
  EXPECT_NO_THROW(validate(cfg));

  // Only TLS: without server.listen there is no plain listener.
  cfg = parse_yaml("server:\n  tls: {listen: 0.0.0.0:5443, cert_file: a.crt, key_file: a.key}\n");
  EXPECT_EQ(cfg.server.listen, "");
  EXPECT_EQ(cfg.server.tls.client_auth, "none");
  EXPECT_EQ(cfg.server.tls.min_version, "1.2");
  EXPECT_NO_THROW(validate(cfg));
  EXPECT_FALSE(parse_yaml("server: {listen: 127.0.0.1:5000}").server.tls.enabled);
  EXPECT_THAT(parse_error("server:\n  tls: {listen: 0.0.0.0:5443, cert: a.crt}\n"),
              StartsWith("server.tls.cert: unknown key"));
}

TEST(config_parse, server_http2) {
  const config defaults;
  EXPECT_TRUE(defaults.server.http2.enabled);
  EXPECT_EQ(defaults.server.http2.connection_window, 16u * 1024 * 1024);
  EXPECT_EQ(defaults.server.http2.stream_window, 4u * 1024 * 1024);
  config cfg = parse_yaml(R"(
server:
  http2:
    enabled: false
    connection_window: 32MiB
    stream_window: 1MiB
    max_concurrent_streams: 64
    max_header_list_size: 64KiB
    reset_burst: 100
    reset_rate: 10
    control_frame_burst: 50
    control_frame_rate: 5
)");
  const auto& h = cfg.server.http2;
  EXPECT_FALSE(h.enabled);
  EXPECT_EQ(h.connection_window, 32u * 1024 * 1024);
  EXPECT_EQ(h.stream_window, 1024u * 1024);
  EXPECT_EQ(h.max_concurrent_streams, 64u);
  EXPECT_EQ(h.max_header_list_size, 64u * 1024);
  EXPECT_EQ(h.reset_burst, 100u);
  EXPECT_EQ(h.reset_rate, 10u);
  EXPECT_EQ(h.control_frame_burst, 50u);
  EXPECT_EQ(h.control_frame_rate, 5u);
  EXPECT_NO_THROW(validate(cfg));
  EXPECT_THAT(parse_error("server:\n  http2: {window: 1MiB}\n"),
              StartsWith("server.http2.window: unknown key (allowed: enabled, connection_window, stream_window,"));
}

TEST(config_validate, server_http2_limits_name_the_key_and_the_range) {
  config cfg;
  cfg.server.http2.stream_window = 1024;
  EXPECT_THAT(validate_error(cfg), StartsWith("server.http2.stream_window: 1024 is not allowed (must be between 65535"));
  cfg = {};
  cfg.server.http2.connection_window = 4ull * 1024 * 1024 * 1024;
  EXPECT_THAT(validate_error(cfg), StartsWith("server.http2.connection_window: 4294967296 is not allowed"));
  cfg = {};
  cfg.server.http2.max_concurrent_streams = 0;
  EXPECT_THAT(validate_error(cfg), StartsWith("server.http2.max_concurrent_streams: 0 is not allowed (must be at least 1"));
  cfg = {};
  cfg.server.http2.max_header_list_size = 512;
  EXPECT_THAT(validate_error(cfg), StartsWith("server.http2.max_header_list_size: 512 is not allowed"));
  cfg = {};
  cfg.server.http2.reset_rate = 0;
  EXPECT_THAT(validate_error(cfg), StartsWith("server.http2.reset_rate: 0 is not allowed"));
  cfg = {};
  cfg.server.http2.control_frame_burst = 0;
  EXPECT_THAT(validate_error(cfg), StartsWith("server.http2.control_frame_burst: 0 is not allowed"));
}

TEST(config_validate, server_tls) {
  config cfg;
  cfg.server.tls = {.enabled = true, .listen = "0.0.0.0:5443", .cert_file = "a.crt", .key_file = "a.key"};
  EXPECT_NO_THROW(validate(cfg));
  auto with = [&cfg](auto change) {
    config changed = cfg;
    change(changed.server);
    return validate_error(changed);
  };
  EXPECT_EQ(with([](server_config& s) { s.tls.listen.clear(); }),
            "server.tls.listen: required when server.tls is given (host:port, e.g. 0.0.0.0:5443)");
  EXPECT_THAT(with([](server_config& s) { s.tls.listen = "5443"; }), StartsWith("server.tls.listen: \"5443\""));
  EXPECT_EQ(with([](server_config& s) { s.listen = "127.0.0.1:5443"; }),
            "server.tls.listen: \"0.0.0.0:5443\" overlaps server.listen \"127.0.0.1:5443\" (use another port, e.g. "
            "0.0.0.0:5443)");
  EXPECT_THAT(with([](server_config& s) { s.tls.cert_file.clear(); }), StartsWith("server.tls.cert_file: required"));
  EXPECT_THAT(with([](server_config& s) { s.tls.key_file.clear(); }), StartsWith("server.tls.key_file: required"));
  EXPECT_EQ(with([](server_config& s) { s.tls.client_auth = "always"; }),
            "server.tls.client_auth: \"always\" is not allowed (allowed: none, optional, require)");
  EXPECT_THAT(with([](server_config& s) { s.tls.client_auth = "require"; }),
              StartsWith("server.tls.client_ca_file: required when server.tls.client_auth is require"));
  EXPECT_THAT(with([](server_config& s) { s.tls.client_ca_file = "ca.crt"; }),
              StartsWith("server.tls.client_ca_file: given but server.tls.client_auth is none"));
  EXPECT_NO_THROW(with([](server_config& s) {
    s.tls.client_auth = "optional";
    s.tls.client_ca_file = "ca.crt";
  }));
  EXPECT_EQ(with([](server_config& s) { s.tls.min_version = "1.1"; }),
            "server.tls.min_version: \"1.1\" is not allowed (allowed: 1.2, 1.3)");
  EXPECT_NO_THROW(with([](server_config& s) { s.listen.clear(); })) << "TLS only";

  cfg.admin.listen = "127.0.0.1:5443";
  EXPECT_EQ(validate_error(cfg), "admin.listen: \"127.0.0.1:5443\" overlaps server.tls.listen \"0.0.0.0:5443\" "
                                 "(use another port, e.g. 127.0.0.1:5001)");
}

TEST(config_validate, a_listener_is_required) {
  config cfg;
  cfg.server.listen.clear();
  EXPECT_EQ(validate_error(cfg),
            "server.listen: required unless server.tls gives a TLS listener (e.g. 127.0.0.1:5000)");
}

TEST(config_validate, prefetch_parallelism) {
  config cfg;
  cfg.prefetch.parallelism = 0;
  EXPECT_EQ(validate_error(cfg), "prefetch.parallelism: 0 is not allowed (must be at least 1, default 4)");
  cfg.prefetch.parallelism = 1;
  EXPECT_NO_THROW(validate(cfg));
}

TEST_F(config_file, resolve_quota_takes_a_size_or_a_share_of_the_filesystem) {
  storage_config storage;
  storage.quota = {.bytes = 123, .filesystem_share = 0.5};
  EXPECT_EQ(resolve_quota(storage, dir_), 123u);

  storage.quota = {.bytes = 0, .filesystem_share = 0.5};
  const auto capacity = std::filesystem::space(dir_).capacity;
  EXPECT_EQ(resolve_quota(storage, dir_), capacity / 2);
  storage.quota.filesystem_share = 1.0;
  EXPECT_EQ(resolve_quota(storage, dir_), capacity);

  EXPECT_THAT(error_of([&] { (void)resolve_quota(storage, dir_ / "absent"); }),
              StartsWith("storage.quota: cannot measure the filesystem holding " + (dir_ / "absent").string()));
}

TEST_F(config_file, resolve_min_free_takes_a_size_a_share_of_the_filesystem_or_nothing) {
  storage_config storage;
  const auto capacity = std::filesystem::space(dir_).capacity;
  EXPECT_EQ(resolve_min_free(storage, dir_), capacity / 10) << "10% by default";
  storage.min_free = {.bytes = 4096, .filesystem_share = 0};
  EXPECT_EQ(resolve_min_free(storage, dir_), 4096u);
  storage.min_free = {.bytes = 0, .filesystem_share = 0};
  EXPECT_EQ(resolve_min_free(storage, dir_ / "absent"), 0u) << "off needs no measuring";
  storage.min_free = {.bytes = 0, .filesystem_share = 0.25};
  EXPECT_THAT(error_of([&] { (void)resolve_min_free(storage, dir_ / "absent"); }),
              StartsWith("storage.min_free: cannot measure the filesystem holding " + (dir_ / "absent").string()));
}

TEST(config_validate, default_upstream) {
  config cfg;
  cfg.default_upstream = "docker.io";
  EXPECT_THAT(validate_error(cfg),
              StartsWith("default_upstream: \"docker.io\" names no upstream: none are configured"));

  cfg = with_upstream();
  EXPECT_NO_THROW(validate(cfg));  // empty with one upstream: resolve_defaults picks it
  resolve_defaults(cfg);
  EXPECT_EQ(cfg.default_upstream, "docker.io");

  cfg.upstreams.push_back(with_upstream("ghcr.io", "https://ghcr.io").upstreams[0]);
  cfg.default_upstream.clear();
  EXPECT_EQ(validate_error(cfg),
            "default_upstream: must be set when there are several upstreams (allowed: docker.io, ghcr.io)");
  resolve_defaults(cfg);
  EXPECT_EQ(cfg.default_upstream, "");  // no guess among several
  cfg.default_upstream = "quay.io";
  EXPECT_EQ(validate_error(cfg),
            "default_upstream: \"quay.io\" is not an upstream's name (allowed: docker.io, ghcr.io)");
  cfg.default_upstream = "ghcr.io";
  EXPECT_NO_THROW(validate(cfg));
  resolve_defaults(cfg);
  EXPECT_EQ(cfg.default_upstream, "ghcr.io");

  config none;
  resolve_defaults(none);
  EXPECT_EQ(none.default_upstream, "");
  EXPECT_EQ(parse_yaml("default_upstream:").default_upstream, "");
}

// ---------------------------------------------------------------- access control

TEST(config, auth_access_and_default_access) {
  const auto cfg = parse_yaml(R"(
upstreams: [{name: docker.io, url: "https://registry-1.docker.io"}]
auth:
  htpasswd_file: /etc/regcache/htpasswd
  tokens_file: /etc/regcache/tokens
  groups:
    team-a: [alice, bob]
    ops: []
  cache_ttl: 1m
  cache_entries: 50
access:
  - {upstream: "*", repositories: ["library/**"], allow: [anonymous]}
  - {upstream: docker.io, repositories: ["team-a/**", "shared/*"], allow: ["group:team-a", ci-robot]}
  - {repositories: ["**"], deny: ["*"]}
default_access: allow
)");
  ASSERT_TRUE(cfg.auth);
  EXPECT_EQ(cfg.auth->htpasswd_file, "/etc/regcache/htpasswd");
  EXPECT_EQ(cfg.auth->tokens_file, "/etc/regcache/tokens");
  ASSERT_EQ(cfg.auth->groups.size(), 2u);
  EXPECT_EQ(cfg.auth->groups[0].first, "team-a");
  EXPECT_EQ(cfg.auth->groups[0].second, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_TRUE(cfg.auth->groups[1].second.empty());
  EXPECT_EQ(cfg.auth->cache_ttl, 1min);
  EXPECT_EQ(cfg.auth->cache_entries, 50u);
  ASSERT_TRUE(cfg.access);
  ASSERT_EQ(cfg.access->size(), 3u);
  EXPECT_EQ((*cfg.access)[1].upstream, "docker.io");
  EXPECT_EQ((*cfg.access)[1].repositories, (std::vector<std::string>{"team-a/**", "shared/*"}));
  EXPECT_TRUE((*cfg.access)[1].has_allow);
  EXPECT_EQ((*cfg.access)[1].allow, (std::vector<std::string>{"group:team-a", "ci-robot"}));
  EXPECT_EQ((*cfg.access)[2].upstream, "*");
  EXPECT_TRUE((*cfg.access)[2].has_deny);
  EXPECT_EQ(cfg.default_access, "allow");
  EXPECT_NO_THROW(validate(cfg));
  EXPECT_TRUE(access_control_enabled(cfg));
}

TEST(config, access_control_is_off_without_its_keys) {
  EXPECT_FALSE(access_control_enabled(parse_yaml("log: {level: info}")));
  EXPECT_TRUE(access_control_enabled(parse_yaml("auth: {}")));
  EXPECT_TRUE(access_control_enabled(parse_yaml("access: []")));
  EXPECT_TRUE(access_control_enabled(parse_yaml("default_access: deny")));
}

TEST(config, access_shape_errors_name_the_key) {
  EXPECT_THAT(parse_error("auth: {password_file: x}"),
              StartsWith("auth.password_file: unknown key (allowed: htpasswd_file, tokens_file, groups, cache_ttl, "
                         "cache_entries)"));
  EXPECT_THAT(parse_error("auth: {groups: [alice]}"),
              StartsWith("auth.groups: expected a mapping of group names to lists of identities"));
  EXPECT_THAT(parse_error("access: {upstream: x}"), StartsWith("access: expected a list of rules"));
  EXPECT_THAT(parse_error("access: [{repos: [x]}]"),
              StartsWith("access[0].repos: unknown key (allowed: upstream, repositories, allow, deny)"));
}

config with_access(std::vector<access_rule_config> rules) {
  auto cfg = with_upstream();
  cfg.auth.emplace();
  cfg.auth->groups = {{"team-a", {"alice"}}};
  cfg.access = std::move(rules);
  return cfg;
}

access_rule_config allow_rule(std::vector<std::string> repositories, std::vector<std::string> subjects,
                              std::string upstream = "*") {
  access_rule_config r;
  r.upstream = std::move(upstream);
  r.repositories = std::move(repositories);
  r.allow = std::move(subjects);
  r.has_allow = true;
  return r;
}

TEST(config_validate, access_rules) {
  EXPECT_NO_THROW(validate(with_access({allow_rule({"library/*", "team-*/**", "**"}, {"anonymous", "*", "group:team-a",
                                                                                       "ci-robot"})})));
  EXPECT_EQ(validate_error(with_access({allow_rule({"x"}, {"alice"}, "quay.io")})),
            "access[0].upstream: \"quay.io\" is not an upstream's name (allowed: *, docker.io)");
  EXPECT_THAT(validate_error(with_access({allow_rule({}, {"alice"})})),
              StartsWith("access[0].repositories: must list at least one repository glob"));
  for (const std::string glob : {"Library/x", "/x", "x/", "a//b", "a/***", "a/b**", "a b"})
    EXPECT_THAT(validate_error(with_access({allow_rule({"ok", glob}, {"alice"})})),
                StartsWith("access[0].repositories[1]: \"" + glob + "\" is not a repository glob"))
        << glob;
  EXPECT_EQ(validate_error(with_access({allow_rule({"x"}, {"group:team-b"})})),
            "access[0].allow[0]: \"group:team-b\" names no group of auth.groups (allowed: team-a)");
  EXPECT_THAT(validate_error(with_access({allow_rule({"x"}, {"alice", "bad name"})})),
              StartsWith("access[0].allow[1]: \"bad name\" is not a subject (allowed: an identity, group:<name>, *, "
                         "anonymous)"));
  EXPECT_THAT(validate_error(with_access({allow_rule({"x"}, {})})),
              StartsWith("access[0].allow: must list at least one subject"));
  auto both = allow_rule({"x"}, {"alice"});
  both.has_deny = true;
  EXPECT_EQ(validate_error(with_access({both})), "access[0]: set exactly one of allow and deny");
  auto neither = allow_rule({"x"}, {"alice"});
  neither.has_allow = false;
  EXPECT_EQ(validate_error(with_access({neither})), "access[0]: set exactly one of allow and deny");
}

TEST(config_validate, auth_groups_cache_and_default_access) {
  auto cfg = with_access({});
  cfg.auth->groups = {{"Team A", {"alice"}}};
  EXPECT_THAT(validate_error(cfg), StartsWith("auth.groups.Team A: \"Team A\" is not a group name"));
  cfg.auth->groups = {{"team-a", {"alice"}}, {"team-a", {"bob"}}};
  EXPECT_EQ(validate_error(cfg), "auth.groups.team-a: given twice");
  cfg.auth->groups = {{"team-a", {"al:ice"}}};
  EXPECT_THAT(validate_error(cfg), StartsWith("auth.groups.team-a[0]: \"al:ice\" is not an identity"));
  cfg.auth->groups = {};
  cfg.auth->cache_entries = 0;
  EXPECT_EQ(validate_error(cfg), "auth.cache_entries: 0 is not allowed (must be at least 1, default 10000)");
  cfg.auth->cache_entries = 1;
  cfg.auth->cache_ttl = -1s;
  EXPECT_THAT(validate_error(cfg), StartsWith("auth.cache_ttl: -1s is not allowed (must be 0 or more"));
  cfg.auth->cache_ttl = 0s;
  EXPECT_NO_THROW(validate(cfg));
  cfg.default_access = "maybe";
  EXPECT_EQ(validate_error(cfg), "default_access: \"maybe\" is not allowed (allowed: allow, deny; default deny)");
}


// ---------------------------------------------------------------- scan

TEST(config_scan, section_reads_every_key_and_defaults_the_rest) {
  const config absent = parse_yaml("");
  EXPECT_FALSE(absent.scan.enabled);
  const config cfg = parse_yaml("scan:\n  command: [/bin/sh, -c, 'exit 0']\n  mode: warn\n"
                                "  block_until_scanned: false\n  parallelism: 3\n  timeout: 90s\n");
  EXPECT_TRUE(cfg.scan.enabled);
  EXPECT_EQ(cfg.scan.command, (std::vector<std::string>{"/bin/sh", "-c", "exit 0"}));
  EXPECT_EQ(cfg.scan.mode, "warn");
  EXPECT_FALSE(cfg.scan.block_until_scanned);
  EXPECT_EQ(cfg.scan.parallelism, 3u);
  EXPECT_EQ(cfg.scan.timeout, std::chrono::seconds(90));
  EXPECT_NO_THROW(validate(cfg));
  const config defaults = parse_yaml("scan:\n  webhook: https://scanner.internal/scan\n");
  EXPECT_EQ(defaults.scan.mode, "enforce");
  EXPECT_TRUE(defaults.scan.block_until_scanned);
  EXPECT_EQ(defaults.scan.parallelism, 2u);
  EXPECT_EQ(defaults.scan.timeout, std::chrono::minutes(10));
  EXPECT_NO_THROW(validate(defaults));
  EXPECT_THAT(parse_error("scan: {cmd: [/bin/true]}"),
              StartsWith("scan.cmd: unknown key (allowed: command, webhook, mode, block_until_scanned, parallelism, "
                         "timeout)"));
}

TEST(config_scan, validation_names_the_key_and_what_is_allowed) {
  config cfg;
  cfg.scan.enabled = true;
  EXPECT_EQ(validate_error(cfg),
            "scan: set exactly one of command (a list: the scanner's path and arguments) and webhook (a URL)");
  cfg.scan.command = {"/bin/true"};
  cfg.scan.webhook = "https://scanner.internal/scan";
  EXPECT_THAT(validate_error(cfg), StartsWith("scan: set exactly one of command"));
  cfg.scan.webhook.clear();
  EXPECT_NO_THROW(validate(cfg));
  cfg.scan.mode = "block";
  EXPECT_EQ(validate_error(cfg), "scan.mode: \"block\" is not allowed (allowed: enforce, warn, off)");
  cfg.scan.mode = "enforce";
  cfg.scan.command = {"scan-image"};
  EXPECT_EQ(validate_error(cfg),
            "scan.command[0]: \"scan-image\" is not an absolute path (e.g. /usr/local/bin/scan-image)");
  cfg.scan.command = {"/nonexistent/scan-image"};
  EXPECT_EQ(validate_error(cfg), "scan.command[0]: \"/nonexistent/scan-image\" is not an executable file");
  cfg.scan.command = {"/etc/passwd"};
  EXPECT_EQ(validate_error(cfg), "scan.command[0]: \"/etc/passwd\" is not an executable file");
  cfg.scan.command.clear();
  cfg.scan.webhook = "ftp://scanner";
  EXPECT_THAT(validate_error(cfg), StartsWith("scan.webhook: \"ftp://scanner\" is not an http:// or https:// URL"));
  cfg.scan.webhook = "http://127.0.0.1:9000/scan";
  cfg.scan.parallelism = 0;
  EXPECT_EQ(validate_error(cfg), "scan.parallelism: 0 is not allowed (must be at least 1, default 2)");
  cfg.scan.parallelism = 1;
  cfg.scan.timeout = std::chrono::milliseconds(0);
  EXPECT_EQ(validate_error(cfg), "scan.timeout: 0s is not allowed (must be greater than 0, default 10m)");
  // Off needs no scanner.
  cfg.scan = scan_config{};
  cfg.scan.enabled = true;
  cfg.scan.mode = "off";
  EXPECT_NO_THROW(validate(cfg));
}

// ---------------------------------------------------------------- signature policy

TEST(config, verify_rules) {
  const auto cfg = parse_yaml(R"(
verify:
  - upstream: "*"
    repositories: ["team/**"]
    mode: enforce
    cosign_keys: [/etc/regcache/keys/team-cosign.pub, /etc/regcache/keys/ci.pub]
    check_identity: true
    gate_blobs: false
  - upstream: ghcr.io
    repositories: ["**"]
    mode: warn
    notation_trust_store: /etc/regcache/notation/roots.pem
  - repositories: ["library/*"]
    mode: "off"
)");
  ASSERT_EQ(cfg.verify.size(), 3u);
  EXPECT_EQ(cfg.verify[0].upstream, "*");
  EXPECT_EQ(cfg.verify[0].repositories, std::vector<std::string>{"team/**"});
  EXPECT_EQ(cfg.verify[0].mode, "enforce");
  EXPECT_EQ(cfg.verify[0].cosign_keys,
            (std::vector<std::string>{"/etc/regcache/keys/team-cosign.pub", "/etc/regcache/keys/ci.pub"}));
  EXPECT_TRUE(cfg.verify[0].check_identity);
  EXPECT_FALSE(cfg.verify[0].gate_blobs);
  EXPECT_TRUE(cfg.verify[1].gate_blobs);
  EXPECT_EQ(cfg.verify[1].upstream, "ghcr.io");
  EXPECT_EQ(cfg.verify[1].mode, "warn");
  EXPECT_EQ(cfg.verify[1].notation_trust_store, "/etc/regcache/notation/roots.pem");
  EXPECT_FALSE(cfg.verify[1].check_identity);
  EXPECT_EQ(cfg.verify[2].upstream, "*");
  EXPECT_EQ(cfg.verify[2].mode, "off");
  // Signature checks have nothing to do with who may pull.
  EXPECT_FALSE(access_control_enabled(cfg));
  // A rule without mode enforces.
  EXPECT_EQ(parse_yaml("verify: [{repositories: [x], cosign_keys: [k]}]").verify[0].mode, "enforce");
}

TEST(config, verify_shape_errors_name_the_key) {
  EXPECT_THAT(parse_error("verify: {mode: enforce}"), StartsWith("verify: expected a list of rules"));
  EXPECT_THAT(parse_error("verify: [{keys: [k]}]"),
              StartsWith("verify[0].keys: unknown key (allowed: upstream, repositories, mode, cosign_keys, "
                         "notation_trust_store, check_identity, gate_blobs)"));
  EXPECT_THAT(parse_error("verify: [{cosign_keys: k.pub}]"), StartsWith("verify[0].cosign_keys: expected a list of strings"));
  EXPECT_THAT(parse_error("verify: [{check_identity: maybe}]"),
              StartsWith("verify[0].check_identity: \"maybe\" is not a boolean"));
  EXPECT_THAT(parse_error("verify: [{gate_blobs: sometimes}]"),
              StartsWith("verify[0].gate_blobs: \"sometimes\" is not a boolean"));
  EXPECT_THAT(parse_error("verify: [~]"), StartsWith("verify[0]: expected a mapping"));
}

config with_verify(std::vector<verify_rule_config> rules) {
  auto cfg = with_upstream();
  cfg.verify = std::move(rules);
  return cfg;
}

verify_rule_config verify_rule(std::string mode, std::vector<std::string> keys, std::string upstream = "*") {
  verify_rule_config r;
  r.upstream = std::move(upstream);
  r.repositories = {"team/**"};
  r.mode = std::move(mode);
  r.cosign_keys = std::move(keys);
  return r;
}

TEST(config_validate, verify_rules) {
  EXPECT_NO_THROW(validate(with_verify({verify_rule("enforce", {"a.pub"}), verify_rule("warn", {"b.pub"}, "docker.io"),
                                        verify_rule("off", {})})));
  auto notation_only = verify_rule("enforce", {});
  notation_only.notation_trust_store = "roots.pem";
  EXPECT_NO_THROW(validate(with_verify({notation_only})));

  EXPECT_EQ(validate_error(with_verify({verify_rule("audit", {"a.pub"})})),
            "verify[0].mode: \"audit\" is not allowed (allowed: enforce, warn, off; default enforce)");
  EXPECT_EQ(validate_error(with_verify({verify_rule("enforce", {"a.pub"}), verify_rule("warn", {})})),
            "verify[1]: mode warn needs something to verify with: cosign_keys (PEM public key files) or "
            "notation_trust_store (a PEM file of root certificates)");
  EXPECT_EQ(validate_error(with_verify({verify_rule("enforce", {"a.pub", ""})})),
            "verify[0].cosign_keys[1]: must not be empty (a PEM public key file)");
  EXPECT_EQ(validate_error(with_verify({verify_rule("enforce", {"a.pub"}, "quay.io")})),
            "verify[0].upstream: \"quay.io\" is not an upstream's name (allowed: *, docker.io)");
  auto no_globs = verify_rule("enforce", {"a.pub"});
  no_globs.repositories.clear();
  EXPECT_THAT(validate_error(with_verify({no_globs})),
              StartsWith("verify[0].repositories: must list at least one repository glob"));
  auto bad_glob = verify_rule("enforce", {"a.pub"});
  bad_glob.repositories = {"team/**", "Team"};
  EXPECT_THAT(validate_error(with_verify({bad_glob})),
              StartsWith("verify[0].repositories[1]: \"Team\" is not a repository glob"));
}

}  // namespace
}  // namespace regcache::config
