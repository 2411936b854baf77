#pragma once
// `regcache serve`'s command-line flags and how they lay over the
// configuration file (conf/regcache.yaml): a flag that is given replaces the
// file's key; --upstream adds (or replaces) an upstream and makes it the
// default; --offline marks every upstream offline.
//
// Throws config::config_error, like the config module: this runs at startup.
#include "regcache/config/config.hpp"

#include <string>
#include <string_view>

namespace regcache::app {

struct serve_flags {
  std::string config_file;  // empty: built-in defaults
  std::string listen;        // server.listen
  std::string data;          // storage.root
  std::string upstream;      // an http:// or https:// URL
  std::string log_level;     // log.level
  std::string admin_listen;  // admin.listen
  bool offline = false;      // upstreams[].offline for all
};

// Docker Hub is named docker.io by clients but served from registry-1.docker.io.
[[nodiscard]] bool is_docker_hub_host(std::string_view host);

// Lays the given flags over `cfg`. An --upstream URL becomes an upstream
// named by its host (with its port unless the scheme's default; any Docker
// Hub host is "docker.io", aliased to the others), replacing one of the same
// name; an http:// URL on the command line opts in to plain HTTP.
void apply_flags(config::config& cfg, const serve_flags& flags);

// The configuration `regcache serve` runs with: the file (or defaults), the
// flags over it, defaults resolved, validated.
[[nodiscard]] config::config load_config(const serve_flags& flags);

}  // namespace regcache::app
