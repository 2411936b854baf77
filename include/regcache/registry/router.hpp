#pragma once
// Picks the upstream for a request, in this order:
//   1. containerd's `ns` query parameter  (/v2/library/alpine/manifests/3.20?ns=docker.io)
//   2. a registry host as the first path component (/v2/ghcr.io/owner/app/manifests/v1),
//      recognised as clients recognise one in an image reference: it contains
//      a '.' or a ':' or is "localhost", and more components follow
//   3. the default upstream
// and normalises the repository (Docker Hub's single-component names get
// "library/"). A registry that is not configured is an error naming it:
// regcache never connects to a host the config does not name. A repository
// that breaks the name grammar, or is longer than 255 characters together
// with its registry host and a '/' (the distribution-spec limit), fails with
// name_invalid.
//
// Immutable after construction; safe from any thread.
#include "regcache/cache/upstream_source.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::registry {

struct routed {
  std::shared_ptr<const cache::upstream_source> source;
  std::string repository;
  bool by_namespace = false;  // the `ns` parameter chose it (echoed as OCI-Namespace)
};

struct route_failure {
  bool name_invalid = false;  // false: the registry is not configured
  std::string message;
};

class router {
 public:
  router(std::vector<std::shared_ptr<const cache::upstream_source>> sources, std::string default_name);

  [[nodiscard]] boost::system::result<routed, route_failure> route(std::string_view path_name,
                                                                   std::optional<std::string_view> ns) const;
  const std::vector<std::shared_ptr<const cache::upstream_source>>& sources() const noexcept { return sources_; }

 private:
  std::shared_ptr<const cache::upstream_source> find(std::string_view registry) const;

  std::vector<std::shared_ptr<const cache::upstream_source>> sources_;
  std::shared_ptr<const cache::upstream_source> default_;
};

}  // namespace regcache::registry
