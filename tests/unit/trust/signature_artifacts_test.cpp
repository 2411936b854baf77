#include "regcache/trust/signature_artifacts.hpp"

#include "regcache/core/hasher.hpp"
#include "regcache/oci/errc.hpp"

#include <gtest/gtest.h>

namespace regcache::trust {
namespace {

const core::digest target = core::hasher::of("the signed manifest");
const core::digest payload = core::hasher::of("payload");
const core::digest config = core::hasher::of("{}");

std::string descriptor(std::string_view media_type, const core::digest& d, std::string extra = "") {
  return R"({"mediaType":")" + std::string(media_type) + R"(","digest":")" + d.str() + R"(","size":7)" + extra + "}";
}

std::string image(std::vector<std::string> layers, std::string extra = "") {
  std::string out = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)" + extra +
                    R"("config":)" + descriptor("application/vnd.oci.image.config.v1+json", config) + R"(,"layers":[)";
  for (std::size_t i = 0; i < layers.size(); ++i) out += (i ? "," : "") + layers[i];
  return out + "]}";
}

std::string cosign_layer(std::string_view signature) {
  return descriptor("application/vnd.dev.cosign.simplesigning.v1+json", payload,
                    R"(,"annotations":{"dev.cosignproject.cosign/signature":")" + std::string(signature) + R"("})");
}

TEST(signature_artifacts, cosign_and_referrers_tags_name_the_digest) {
  EXPECT_EQ(cosign_signature_tag(target), "sha256-" + target.hex() + ".sig");
  EXPECT_EQ(referrers_tag(target), "sha256-" + target.hex());
}

TEST(signature_artifacts, cosign_layers_carry_their_payload_and_signature) {
  const auto layers = signature_layers(image({cosign_layer("MEUC"), cosign_layer("MEYC")}));
  ASSERT_TRUE(layers);
  ASSERT_EQ(layers->size(), 2u);
  EXPECT_EQ((*layers)[0].kind, signature_kind::cosign);
  EXPECT_EQ((*layers)[0].blob, payload);
  EXPECT_EQ((*layers)[0].cosign_signature, "MEUC");
  EXPECT_EQ((*layers)[1].cosign_signature, "MEYC");
  EXPECT_TRUE(is_signature_artifact(image({cosign_layer("MEUC")})));
}

TEST(signature_artifacts, notation_envelopes_are_the_layers_of_a_notary_signature) {
  const auto notation = image({descriptor("application/jose+json", payload)},
                              R"("artifactType":"application/vnd.cncf.notary.signature",)");
  const auto layers = signature_layers(notation);
  ASSERT_TRUE(layers);
  ASSERT_EQ(layers->size(), 1u);
  EXPECT_EQ((*layers)[0].kind, signature_kind::notation);
  EXPECT_EQ((*layers)[0].media_type, "application/jose+json");
  EXPECT_TRUE(is_signature_artifact(notation));
  // A JSON layer of an image that is no notation signature is just a layer.
  EXPECT_TRUE(signature_layers(image({descriptor("application/jose+json", payload)}))->empty());
}

TEST(signature_artifacts, an_image_is_no_signature_artifact_even_with_a_signature_layer_among_others) {
  const auto tar = descriptor("application/vnd.oci.image.layer.v1.tar+gzip", payload);
  EXPECT_TRUE(signature_layers(image({tar}))->empty());
  EXPECT_FALSE(is_signature_artifact(image({tar})));
  EXPECT_FALSE(is_signature_artifact(image({tar, cosign_layer("MEUC")})));
  EXPECT_FALSE(is_signature_artifact(image({})));
  EXPECT_FALSE(is_signature_artifact("not json"));
  EXPECT_EQ(signature_layers("[1]").error(), oci::errc::manifest_invalid);
}

TEST(signature_artifacts, referrers_lists_keep_only_signatures) {
  const auto index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
                     descriptor("application/vnd.oci.image.manifest.v1+json", payload,
                                R"(,"artifactType":"application/vnd.dev.cosign.artifact.sig.v1+json")") + "," +
                     descriptor("application/vnd.oci.image.manifest.v1+json", config,
                                R"(,"artifactType":"application/spdx+json")") + "," +
                     descriptor("application/vnd.oci.image.manifest.v1+json", target,
                                R"(,"artifactType":"application/vnd.cncf.notary.signature")") + "]}";
  const auto referrers = signature_referrers(index);
  ASSERT_TRUE(referrers);
  ASSERT_EQ(referrers->size(), 2u);
  EXPECT_EQ((*referrers)[0].manifest, payload);
  EXPECT_EQ((*referrers)[0].artifact_type, verify::cosign_artifact_type);
  EXPECT_EQ((*referrers)[1].manifest, target);
  EXPECT_EQ((*referrers)[1].artifact_type, verify::notation_artifact_type);
  EXPECT_EQ(signature_referrers(R"({"manifests":[{"artifactType":"application/vnd.cncf.notary.signature"}]})").error(),
            oci::errc::manifest_invalid);
  EXPECT_TRUE(signature_referrers(R"({"schemaVersion":2,"manifests":[]})")->empty());
  // An index of signatures is a signature artifact; one that also lists an SBOM or an image is not.
  EXPECT_FALSE(is_signature_artifact(index));
  const auto only_signatures =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
      descriptor("application/vnd.oci.image.manifest.v1+json", payload,
                 R"(,"artifactType":"application/vnd.dev.cosign.artifact.sig.v1+json")") + "]}";
  EXPECT_TRUE(is_signature_artifact(only_signatures));
}

}  // namespace
}  // namespace regcache::trust
