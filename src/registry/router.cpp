#include "regcache/registry/router.hpp"

#include "regcache/oci/reference.hpp"

#include <algorithm>

namespace regcache::registry {

namespace {

bool looks_like_registry_host(std::string_view component) {
  return component.find_first_of(".:") != std::string_view::npos || component == "localhost";
}

std::string not_configured(std::string_view registry) {
  return "registry \"" + std::string(registry) +
         "\" is not configured in regcache; add it under `upstreams:` (name: " + std::string(registry) +
         ", url: ...) in the config file";
}

}  // namespace

router::router(std::vector<std::shared_ptr<const cache::upstream_source>> sources, std::string default_name)
    : sources_(std::move(sources)) {
  if (!default_name.empty()) default_ = find(default_name);
}

std::shared_ptr<const cache::upstream_source> router::find(std::string_view registry) const {
  for (const auto& s : sources_) {
    if (s->name == registry) return s;
    if (std::find(s->aliases.begin(), s->aliases.end(), registry) != s->aliases.end()) return s;
  }
  return nullptr;
}

boost::system::result<routed, route_failure> router::route(std::string_view path_name,
                                                           std::optional<std::string_view> ns) const {
  routed r;
  std::string_view repository = path_name;
  if (ns) {
    r.source = find(*ns);
    if (!r.source) return route_failure{false, not_configured(*ns)};
    r.by_namespace = true;
  } else if (const auto slash = path_name.find('/');
             slash != std::string_view::npos && looks_like_registry_host(path_name.substr(0, slash))) {
    const auto registry = path_name.substr(0, slash);
    r.source = find(registry);
    if (!r.source) return route_failure{false, not_configured(registry)};
    repository = path_name.substr(slash + 1);
  } else {
    r.source = default_;
    if (!r.source)
      return route_failure{false,
                           "no default upstream: name the registry with ?ns=<host> or as the first path "
                           "component, or set `default_upstream` in the config file"};
  }
  r.repository = std::string(repository);
  if (r.source->docker_hub && r.repository.find('/') == std::string::npos) r.repository = "library/" + r.repository;
  if (!oci::is_valid_repository_name(r.repository))
    return route_failure{true, "invalid repository name \"" + std::string(repository) +
                                   "\": lowercase letters, digits and separators (. _ __ -) in /-separated "
                                   "components, at most 255 characters"};
  // The spec's limit counts the registry host too ("ghcr.io/owner/app"), as
  // every upstream and client does: a longer name cannot exist upstream.
  const auto full_length = r.source->name.size() + 1 + r.repository.size();
  if (full_length > oci::max_repository_name_length)
    return route_failure{true, "invalid repository name: " + r.source->name + "/" + r.repository.substr(0, 32) +
                                   "... is " + std::to_string(full_length) +
                                   " characters with its registry host; at most 255 are allowed"};
  return r;
}

}  // namespace regcache::registry
