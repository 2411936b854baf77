#include "regcache/app/flags.hpp"

#include "regcache/upstream/url.hpp"

namespace regcache::app {

bool is_docker_hub_host(std::string_view host) {
  return host == "docker.io" || host == "registry-1.docker.io" || host == "index.docker.io";
}

namespace {

config::upstream_config upstream_of_url(const std::string& url) {
  auto ep = upstream::parse_url(url);
  if (!ep) throw config::config_error("--upstream: \"" + url + "\" is not an http:// or https:// URL");
  const bool hub = is_docker_hub_host(ep->host);
  config::upstream_config u;
  u.name = hub ? "docker.io" : ep->host;
  if (!hub && ep->port != (ep->scheme == "https" ? 443 : 80)) u.name += ":" + std::to_string(ep->port);
  u.url = url;
  u.insecure_http = ep->scheme == "http";
  if (hub) u.aliases = {"registry-1.docker.io", "index.docker.io"};
  return u;
}

}  // namespace

void apply_flags(config::config& cfg, const serve_flags& flags) {
  if (!flags.listen.empty()) cfg.server.listen = flags.listen;
  if (!flags.data.empty()) cfg.storage.root = flags.data;
  if (!flags.log_level.empty()) cfg.log.level = flags.log_level;
  if (!flags.admin_listen.empty()) cfg.admin.listen = flags.admin_listen;
  if (!flags.upstream.empty()) {
    auto u = upstream_of_url(flags.upstream);
    std::erase_if(cfg.upstreams, [&u](const config::upstream_config& existing) { return existing.name == u.name; });
    cfg.default_upstream = u.name;
    cfg.upstreams.push_back(std::move(u));
  }
  if (flags.offline)
    for (auto& u : cfg.upstreams) u.offline = true;
}

config::config load_config(const serve_flags& flags) {
  auto cfg = flags.config_file.empty() ? config::parse_yaml("{}") : config::load_file(flags.config_file);
  apply_flags(cfg, flags);
  config::resolve_defaults(cfg);
  config::validate(cfg);
  return cfg;
}

}  // namespace regcache::app
