#include "regcache/registry/manifest_responses.hpp"

#include "regcache/core/hasher.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace regcache::registry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::shared_ptr<const cache::cached_manifest> manifest_of(std::string bytes) {
  const auto digest = core::hasher::of(bytes);
  return std::make_shared<const cache::cached_manifest>(cache::cached_manifest{
      digest, "application/vnd.oci.image.manifest.v1+json", std::make_shared<const std::string>(std::move(bytes))});
}

TEST(manifest_responses, a_manifest_gets_its_fields_and_bytes_once) {
  manifest_responses responses;
  const auto manifest = manifest_of(R"({"schemaVersion":2})");
  const auto response = responses.response_for(manifest, {});
  EXPECT_EQ(response->status(), 200u);
  EXPECT_EQ(response->body(), *manifest->bytes);
  const http::header_fields want{{"Docker-Distribution-API-Version", "registry/2.0"},
                                 {"Docker-Content-Digest", manifest->digest.str()},
                                 {"ETag", "\"" + manifest->digest.str() + "\""},
                                 {"Content-Type", "application/vnd.oci.image.manifest.v1+json"}};
  EXPECT_EQ(response->fields(), want);
  EXPECT_THAT(std::string(response->http1_head()),
              HasSubstr("Content-Length: " + std::to_string(manifest->bytes->size()) + "\r\n"));
  EXPECT_EQ(responses.response_for(manifest, {}), response) << "made once";
  EXPECT_EQ(responses.size(), 1u);
}

TEST(manifest_responses, the_namespace_echo_is_its_own_response) {
  manifest_responses responses;
  const auto manifest = manifest_of("{}");
  const auto plain = responses.response_for(manifest, {});
  const auto by_ns = responses.response_for(manifest, "ghcr.io");
  EXPECT_NE(plain, by_ns);
  EXPECT_THAT(std::string(by_ns->http1_head()), HasSubstr("OCI-Namespace: ghcr.io\r\n"));
  EXPECT_THAT(std::string(plain->http1_head()), Not(HasSubstr("OCI-Namespace")));
}

TEST(manifest_responses, another_object_of_the_same_digest_gets_a_new_response) {
  manifest_responses responses;
  auto first = manifest_of("{}");
  const auto old_response = responses.response_for(first, {});
  // The cache dropped the object and made another (evicted, fetched again).
  first.reset();
  const auto second = manifest_of("{}");
  const auto response = responses.response_for(second, {});
  EXPECT_NE(response, old_response);
  EXPECT_EQ(responses.response_for(second, {}), response);
  EXPECT_EQ(responses.size(), 1u);
}

TEST(manifest_responses, past_the_bound_entries_start_over) {
  manifest_responses responses;
  std::vector<std::shared_ptr<const cache::cached_manifest>> held;
  for (std::size_t i = 0; i <= manifest_responses::max_entries; ++i) {
    held.push_back(manifest_of(std::to_string(i)));
    ASSERT_EQ(responses.response_for(held.back(), {})->body(), std::to_string(i));
  }
  EXPECT_EQ(responses.size(), 1u);
}

}  // namespace
}  // namespace regcache::registry
