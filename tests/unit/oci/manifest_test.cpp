#include "regcache/oci/manifest.hpp"

#include "regcache/oci/errc.hpp"
#include "regcache/oci/media_type.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regcache::oci {
namespace {

// Shapes as served by Docker Hub, GHCR and registry.k8s.io.
constexpr std::string_view oci_index_json = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:6457d53fb065d6f250e1504b9bc42d5b6c65941d57532c072d929dd0628977d0",
      "size": 1022,
      "platform": {"architecture": "amd64", "os": "linux"}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:f2f77c2a2d0a1d94e3d3a5c7e0e6c8d3f7d1d3b5a5e1a6c1e2a5b7c9d2f4e6a8",
      "size": 1025,
      "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "size": 566,
      "annotations": {
        "vnd.docker.reference.digest": "sha256:6457d53fb065d6f250e1504b9bc42d5b6c65941d57532c072d929dd0628977d0",
        "vnd.docker.reference.type": "attestation-manifest"
      },
      "platform": {"architecture": "unknown", "os": "unknown"}
    }
  ]
})";

constexpr std::string_view oci_manifest_json = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "sha256:05455a08881ea9cf0e752bc48e61bbd71a34c029bb13df01e40e3e70e0d007bd",
    "size": 581
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:4abcf20661432fb2d719aaf90656f55c287f8ca915dc1c92ec14ff61e67fbaf8",
      "size": 3408729
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
      "digest": "sha512:0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000abcd",
      "size": 12
    }
  ],
  "annotations": {"org.opencontainers.image.created": "2024-01-27T00:00:00Z"}
})";

constexpr std::string_view docker_manifest_json = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1472,
      "digest": "sha256:9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 2813316,
         "digest": "sha256:31e352740f534f9ad170f75378a84fe453d6156e40700b882d737a8f4a6988a3"
      }
   ]
})";

constexpr std::string_view docker_list_json = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
   "manifests": [
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "sha256:c9bd7dc5a2b7a5c0d7e0c7e0d7a2c8e0b6a7d2d6e0c2a8b8e0f2a7d9e2c3b4a5",
         "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}
      }
   ]
})";

constexpr std::string_view referrer_json = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "size": 2
  },
  "layers": [],
  "subject": {
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "digest": "sha256:6457d53fb065d6f250e1504b9bc42d5b6c65941d57532c072d929dd0628977d0",
    "size": 1609
  }
})";

constexpr std::string_view schema1_json = R"({
   "schemaVersion": 1,
   "name": "library/hello-world",
   "tag": "latest",
   "architecture": "amd64",
   "fsLayers": [{"blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}],
   "history": [{"v1Compatibility": "{}"}],
   "signatures": []
})";

error_code error_of(std::string_view bytes, std::string_view content_type = oci_manifest) {
  auto r = parse_manifest(bytes, content_type);
  return r ? error_code{} : r.error();
}

TEST(parse_manifest, oci_index) {
  auto m = parse_manifest(oci_index_json, oci_index);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->media_type, oci_index);
  EXPECT_TRUE(m->is_index);
  EXPECT_FALSE(m->config);
  EXPECT_TRUE(m->layers.empty());
  ASSERT_EQ(m->manifests.size(), 3u);
  EXPECT_EQ(m->manifests[0].media_type, oci_manifest);
  EXPECT_EQ(m->manifests[0].size, 1022u);
  ASSERT_TRUE(m->manifests[0].platform);
  EXPECT_EQ(m->manifests[0].platform->os, "linux");
  EXPECT_EQ(m->manifests[0].platform->architecture, "amd64");
  EXPECT_EQ(m->manifests[0].platform->variant, "");
  EXPECT_EQ(m->manifests[1].platform->variant, "v7");
  const auto refs = m->referenced();
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[0].str(), "sha256:6457d53fb065d6f250e1504b9bc42d5b6c65941d57532c072d929dd0628977d0");
}

TEST(parse_manifest, oci_image_manifest) {
  auto m = parse_manifest(oci_manifest_json, "application/octet-stream");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->media_type, oci_manifest);
  EXPECT_FALSE(m->is_index);
  ASSERT_TRUE(m->config);
  EXPECT_EQ(m->config->media_type, "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(m->config->size, 581u);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[1].digest.alg(), core::digest::algorithm::sha512);
  EXPECT_FALSE(m->layers[0].platform);
  const auto refs = m->referenced();
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[0], m->config->digest);
  EXPECT_EQ(refs[1], m->layers[0].digest);
  EXPECT_EQ(refs[2], m->layers[1].digest);
  EXPECT_FALSE(m->subject);
}

TEST(parse_manifest, docker_v2_manifest_and_list) {
  auto m = parse_manifest(docker_manifest_json, docker_manifest);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->media_type, docker_manifest);
  EXPECT_FALSE(m->is_index);
  EXPECT_EQ(m->referenced().size(), 2u);
  EXPECT_EQ(m->layers[0].size, 2813316u);

  auto list = parse_manifest(docker_list_json, docker_manifest_list);
  ASSERT_TRUE(list) << list.error().message();
  EXPECT_TRUE(list->is_index);
  ASSERT_EQ(list->manifests.size(), 1u);
  EXPECT_EQ(list->manifests[0].platform->variant, "v8");
}

TEST(parse_manifest, subject_is_kept_but_not_referenced) {
  auto m = parse_manifest(referrer_json, oci_manifest);
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_TRUE(m->subject);
  EXPECT_EQ(m->subject->media_type, oci_index);
  EXPECT_TRUE(m->layers.empty());
  EXPECT_EQ(m->referenced().size(), 1u);
}

TEST(parse_manifest, media_type_falls_back_to_content_type) {
  constexpr std::string_view field = R"("mediaType": "application/vnd.docker.distribution.manifest.v2+json",)";
  std::string no_type(docker_manifest_json);
  no_type.erase(no_type.find(field), field.size());
  auto m = parse_manifest(no_type, "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->media_type, docker_manifest);
}

TEST(parse_manifest, index_detected_by_shape) {
  constexpr std::string_view untyped = R"({"schemaVersion":2,"manifests":[]})";
  auto m = parse_manifest(untyped, "application/json");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->is_index);
  EXPECT_EQ(m->media_type, "application/json");
  // An index media type wins even when layers are present.
  auto typed = parse_manifest(R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"layers":[]})",
                              "");
  ASSERT_TRUE(typed);
  EXPECT_TRUE(typed->is_index);
}

TEST(parse_manifest, schema1_has_no_references) {
  for (auto content_type : {docker_schema1_signed, docker_schema1, std::string_view("text/plain")}) {
    auto m = parse_manifest(schema1_json, content_type);
    ASSERT_TRUE(m) << content_type;
    EXPECT_FALSE(m->is_index);
    EXPECT_TRUE(m->referenced().empty());
    EXPECT_EQ(m->media_type, strip_parameters(content_type));
  }
}

TEST(parse_manifest, too_large) {
  std::string big(max_manifest_bytes + 1, ' ');
  EXPECT_EQ(error_of(big), errc::manifest_too_large);
  std::string padded(oci_manifest_json);
  padded.resize(max_manifest_bytes, ' ');
  EXPECT_TRUE(parse_manifest(padded, oci_manifest));
}

TEST(parse_manifest, not_json_or_not_an_object) {
  for (const char* bytes : {"", "{", "null", "[]", "\"x\"", "42", "{}garbage", "{\"a\":1,}", "{/*c*/}",
                            "{\"mediaType\":\"\xff\"}"}) {
    EXPECT_EQ(error_of(bytes), errc::manifest_invalid) << bytes;
  }
}

TEST(parse_manifest, wrong_field_types) {
  const std::string d = "\"sha256:" + std::string(64, 'a') + "\"";
  const std::string good = "{\"mediaType\":\"m\",\"digest\":" + d + ",\"size\":1}";
  for (const std::string& bytes : std::vector<std::string>{
           std::string(R"({"mediaType":5,"config":)") + good + "}",
           std::string(R"({"config":)") + good + R"(,"layers":{}})",
           std::string(R"({"config":)") + good + R"(,"layers":[1]})",
           std::string(R"({"config":[]})"),
           std::string(R"({"manifests":"x"})"),
           std::string(R"({"config":)") + good + R"(,"subject":"x"})",
           std::string(R"({"layers":[]})"),  // image manifest without config
           std::string(R"({"mediaType":"application/vnd.oci.image.index.v1+json"})"),  // index without manifests
       }) {
    EXPECT_EQ(error_of(bytes), errc::manifest_invalid) << bytes;
  }
}

TEST(parse_manifest, bad_descriptors) {
  const auto with_config = [](const std::string& config) { return "{\"config\":" + config + ",\"layers\":[]}"; };
  const std::string d = "\"sha256:" + std::string(64, 'a') + "\"";
  EXPECT_TRUE(parse_manifest(with_config("{\"digest\":" + d + ",\"size\":0}"), oci_manifest));
  for (const std::string& config : std::vector<std::string>{
           "{\"size\":1}",                                                // no digest
           "{\"digest\":" + d + "}",                                      // no size
           "{\"digest\":" + d + ",\"size\":-1}",                          // negative
           "{\"digest\":" + d + ",\"size\":1.5}",                         // not an integer
           "{\"digest\":" + d + ",\"size\":1e3}",                         // a double, even if whole
           "{\"digest\":" + d + ",\"size\":\"1\"}",                       // string
           "{\"digest\":" + d + ",\"size\":99999999999999999999999}",     // beyond 64 bits
           "{\"digest\":\"sha256:" + std::string(64, 'A') + "\",\"size\":1}",  // uppercase hex
           "{\"digest\":\"sha256:abc\",\"size\":1}",                      // short
           "{\"digest\":\"md5:d41d8cd98f00b204e9800998ecf8427e\",\"size\":1}",  // unsupported
           "{\"digest\":7,\"size\":1}",
           "{\"digest\":" + d + ",\"size\":1,\"platform\":[]}",
           "{\"digest\":" + d + ",\"size\":1,\"platform\":{\"os\":1}}",
           "{\"digest\":" + d + ",\"size\":1,\"mediaType\":[]}",
       }) {
    EXPECT_EQ(error_of(with_config(config)), errc::manifest_invalid) << config;
  }
}

TEST(parse_manifest, repeated_keys_take_the_last_value) {
  const std::string first = "sha256:" + std::string(64, '1');
  const std::string second = "sha256:" + std::string(64, '2');
  auto m = parse_manifest(R"({"config":{"digest":")" + first + R"(","size":1},"layers":[],"config":{"digest":")" +
                              second + R"(","size":2}})",
                          oci_manifest);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->config->digest.str(), second);
  EXPECT_EQ(m->config->size, 2u);
}

TEST(parse_manifest, descriptor_count_is_bounded) {
  const std::string desc = "{\"digest\":\"sha256:" + std::string(64, 'c') + "\",\"size\":1}";
  const auto index_of = [&](std::size_t n) {
    std::string s = "{\"manifests\":[";
    for (std::size_t i = 0; i < n; ++i) s += (i ? "," : "") + desc;
    return s + "]}";
  };
  auto ok = parse_manifest(index_of(max_manifest_descriptors), oci_index);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->manifests.size(), max_manifest_descriptors);
  EXPECT_EQ(error_of(index_of(max_manifest_descriptors + 1), oci_index), errc::manifest_invalid);
}

TEST(parse_manifest, nesting_is_bounded) {
  std::string deep = "{\"config\":" + std::string(10'000, '[') + std::string(10'000, ']') + "}";
  EXPECT_EQ(error_of(deep), errc::manifest_invalid);
}

}  // namespace
}  // namespace regcache::oci
