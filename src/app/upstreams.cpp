#include "regcache/app/upstreams.hpp"

#include "regcache/app/flags.hpp"
#include "regcache/oci/repository_glob.hpp"
#include "regcache/upstream/authenticator.hpp"
#include "regcache/upstream/client.hpp"
#include "regcache/upstream/connection_limit.hpp"
#include "regcache/upstream/credentials.hpp"
#include "regcache/upstream/registry_client.hpp"
#include "regcache/upstream/url.hpp"

#include <spdlog/spdlog.h>

#include <optional>

namespace regcache::app {

namespace {

upstream::client_options client_options_of(const config::upstream_config& u) {
  upstream::client_options opts;
  opts.connect_timeout = u.connect_timeout;
  opts.read_timeout = u.read_timeout;
  opts.ca_file = u.ca_file;
  opts.client_cert_file = u.client_cert_file;
  opts.client_key_file = u.client_key_file;
  opts.insecure_skip_verify = u.insecure_skip_verify;
  opts.user_agent = std::string("regcache/") + REGCACHE_VERSION;
  return opts;
}

std::optional<upstream::credentials> credentials_of(const config::upstream_config& u) {
  if (u.username.empty()) return std::nullopt;
  auto loaded = upstream::load_credentials(u.username, u.password_file, u.password_env);
  if (!loaded) {
    const bool from_file = !u.password_file.empty();
    // Named, never echoed: an operator may have pasted the password itself there.
    throw config::config_error("upstreams[" + u.name + "]." + (from_file ? "password_file" : "password_env") + ": " +
                               (from_file ? "the password file cannot be read"
                                          : "the environment variable it names is not set"));
  }
  spdlog::info("upstream {}: credentials of {}", u.name, upstream::redacted(*loaded));
  return std::move(*loaded);
}

std::string listed(const std::vector<std::string>& patterns, std::string_view when_empty) {
  if (patterns.empty()) return std::string(when_empty);
  std::string out;
  for (const auto& pattern : patterns) out += (out.empty() ? "" : ", ") + pattern;
  return out;
}

// The patterns validate() accepted.
std::vector<oci::repository_glob> globs_of(const std::vector<std::string>& patterns) {
  std::vector<oci::repository_glob> globs;
  for (const auto& pattern : patterns) globs.push_back(oci::repository_glob::parse(pattern).value());
  return globs;
}

}  // namespace

std::shared_ptr<const cache::upstream_source> make_upstream_source(const config::upstream_config& u,
                                                                   const std::vector<boost::asio::any_io_executor>& workers,
                                                                   metrics::registry& metrics) {
  const auto ep = upstream::parse_url(u.url);
  if (!ep) throw config::config_error("upstreams[" + u.name + "].url: \"" + u.url + "\" is not a URL");
  const auto opts = client_options_of(u);
  // Only the registry's own API is bounded: token endpoints and redirect
  // targets (the authenticator's clients) are other hosts.
  auto registry_opts = opts;
  registry_opts.limit = upstream::connection_limit::make(u.max_connections);
  registry_opts.h2c = u.h2c;
  std::vector<std::shared_ptr<upstream::client>> clients;
  try {
    // h2c: one connection for the whole process, its streams shared by every
    // thread; HTTP/1.1: a pool per thread.
    if (u.h2c)
      clients.push_back(std::make_shared<upstream::client>(workers.front(), *ep, registry_opts));
    else
      for (const auto& worker : workers) clients.push_back(std::make_shared<upstream::client>(worker, *ep, registry_opts));
  } catch (const std::exception& e) {
    // The TLS context loads ca_file here; a bad file is a configuration error.
    throw config::config_error("upstreams (" + u.name + "): TLS files: " + e.what());
  }
  auto auth = std::make_shared<upstream::authenticator>(u.name, credentials_of(u), opts);
  auto source = std::make_shared<cache::upstream_source>();
  source->name = u.name;
  source->aliases = u.aliases;
  upstream::registry_options registry_options{.name = u.name, .send_ns = u.send_ns, .offline = u.offline};
  registry_options.allow_repositories = globs_of(u.allow_repositories);
  registry_options.deny_repositories = globs_of(u.deny_repositories);
  source->registry = std::make_shared<upstream::registry_client>(std::move(registry_options), std::move(clients),
                                                                 std::move(auth), metrics);
  source->tag_ttl = u.tag_ttl;
  source->max_stale = u.max_stale;
  source->serve_cached_when_tag_not_found = u.on_tag_not_found == "serve_cached";
  source->docker_hub = is_docker_hub_host(u.name);
  source->min_transfer = {u.min_transfer_rate, u.min_transfer_window};
  if (!u.allow_repositories.empty() || !u.deny_repositories.empty())
    spdlog::info("upstream {}: asked only for repositories matching allow_repositories [{}] and not "
                 "deny_repositories [{}]",
                 u.name, listed(u.allow_repositories, "every repository"), listed(u.deny_repositories, "none"));
  if (u.offline) spdlog::info("upstream {} is offline: serving only from the cache, never contacting it", u.name);
  if (u.h2c) spdlog::info("upstream {}: HTTP/2 cleartext (h2c) on one connection", u.name);
  if (u.insecure_http)
    spdlog::warn("INSECURE: upstream {} is plain HTTP: content and credentials travel unencrypted", u.name);
  if (u.insecure_skip_verify)
    spdlog::warn("INSECURE: upstream {}: TLS certificates are NOT verified (insecure_skip_verify)", u.name);
  return source;
}

std::vector<std::shared_ptr<const cache::upstream_source>> make_upstream_sources(
    const config::config& cfg, const std::vector<boost::asio::any_io_executor>& workers, metrics::registry& metrics) {
  std::vector<std::shared_ptr<const cache::upstream_source>> sources;
  for (const auto& u : cfg.upstreams) {
    sources.push_back(make_upstream_source(u, workers, metrics));
    spdlog::info("upstream {} → {} (tag_ttl {} ms){}", u.name, u.url, u.tag_ttl.count(),
                 u.name == cfg.default_upstream ? " [default]" : "");
  }
  return sources;
}

}  // namespace regcache::app
