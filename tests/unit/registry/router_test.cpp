#include "regcache/registry/router.hpp"

#include <gtest/gtest.h>

namespace regcache::registry {
namespace {

std::shared_ptr<const cache::upstream_source> source(std::string name, std::vector<std::string> aliases = {},
                                                     bool hub = false) {
  auto s = std::make_shared<cache::upstream_source>();
  s->name = std::move(name);
  s->aliases = std::move(aliases);
  s->docker_hub = hub;
  return s;
}

router make_router() {
  return router({source("docker.io", {"registry-1.docker.io", "index.docker.io"}, true), source("ghcr.io"),
                 source("127.0.0.1:5001")},
                "docker.io");
}

TEST(router, ns_parameter_wins) {
  auto r = make_router().route("owner/app", std::string_view("ghcr.io"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->source->name, "ghcr.io");
  EXPECT_EQ(r->repository, "owner/app");
  EXPECT_TRUE(r->by_namespace);
}

TEST(router, ns_alias_resolves_to_its_upstream) {
  auto r = make_router().route("library/alpine", std::string_view("registry-1.docker.io"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->source->name, "docker.io");
}

TEST(router, host_prefix_in_the_path) {
  auto r = make_router().route("ghcr.io/owner/app", std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->source->name, "ghcr.io");
  EXPECT_EQ(r->repository, "owner/app");
  EXPECT_FALSE(r->by_namespace);

  auto with_port = make_router().route("127.0.0.1:5001/team/app", std::nullopt);
  ASSERT_TRUE(with_port);
  EXPECT_EQ(with_port->source->name, "127.0.0.1:5001");
  EXPECT_EQ(with_port->repository, "team/app");
}

TEST(router, default_upstream_and_library_prefix) {
  auto r = make_router().route("alpine", std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->source->name, "docker.io");
  EXPECT_EQ(r->repository, "library/alpine");

  auto prefixed = make_router().route("docker.io/alpine", std::nullopt);
  ASSERT_TRUE(prefixed);
  EXPECT_EQ(prefixed->repository, "library/alpine");
}

TEST(router, library_prefix_only_for_docker_hub) {
  auto r = make_router().route("ghcr.io/app", std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repository, "app");
}

TEST(router, unconfigured_registry_is_named_in_the_error) {
  auto by_ns = make_router().route("owner/app", std::string_view("quay.io"));
  ASSERT_FALSE(by_ns);
  EXPECT_FALSE(by_ns.error().name_invalid);
  EXPECT_NE(by_ns.error().message.find("\"quay.io\""), std::string::npos);
  EXPECT_NE(by_ns.error().message.find("upstreams:"), std::string::npos);

  auto by_path = make_router().route("quay.io/owner/app", std::nullopt);
  ASSERT_FALSE(by_path);
  EXPECT_NE(by_path.error().message.find("quay.io"), std::string::npos);
}

TEST(router, invalid_repository_after_routing) {
  auto r = make_router().route("ghcr.io/Owner/App", std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().name_invalid);
}

// The spec's 255 characters count the registry host and its '/'.
TEST(router, name_with_its_registry_host_is_at_most_255_characters) {
  const std::string host = "127.0.0.1:5001";  // 14 characters, + '/' = 15
  const auto at_limit = make_router().route(host + "/" + std::string(240, 'a'), std::nullopt);
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->repository.size(), 240u);

  const auto over = make_router().route(host + "/" + std::string(241, 'a'), std::nullopt);
  ASSERT_FALSE(over);
  EXPECT_TRUE(over.error().name_invalid);
  EXPECT_NE(over.error().message.find("256 characters with its registry host"), std::string::npos)
      << over.error().message;

  // A 255-character repository is valid alone, but not with any host.
  const auto by_default = make_router().route(std::string(251, 'a') + "/abc", std::nullopt);
  ASSERT_FALSE(by_default);
  EXPECT_TRUE(by_default.error().name_invalid);
  const auto by_ns = make_router().route(std::string(255, 'a'), std::string_view("ghcr.io"));
  ASSERT_FALSE(by_ns);
  EXPECT_TRUE(by_ns.error().name_invalid);
}

TEST(router, docker_hub_limit_counts_the_library_prefix) {
  // docker.io/library/ is 18 characters: 237 remain.
  EXPECT_TRUE(make_router().route(std::string(237, 'a'), std::nullopt));
  const auto over = make_router().route(std::string(238, 'a'), std::nullopt);
  ASSERT_FALSE(over);
  EXPECT_TRUE(over.error().name_invalid);
}

TEST(router, no_default_upstream) {
  router no_default({source("ghcr.io")}, "");
  auto r = no_default.route("owner/app", std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("default_upstream"), std::string::npos);
}

}  // namespace
}  // namespace regcache::registry
