#pragma once
// One configured upstream registry, as the pull-through layer uses it.
#include "regcache/upstream/client.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace regcache::cache {

struct upstream_source {
  // The registry host as clients name it ("docker.io", "ghcr.io", "127.0.0.1:5001").
  // Keys in the index (tags, links) are scoped by it.
  std::string name;
  std::vector<std::string> aliases;
  std::shared_ptr<upstream::client> client;
  std::chrono::milliseconds tag_ttl{300'000};
  // Docker Hub names without a slash live under "library/".
  bool docker_hub = false;
};

}  // namespace regcache::cache
