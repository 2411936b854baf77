#include "regcache/verify/cosign.hpp"

#include "regcache/core/hasher.hpp"
#include "regcache/verify/errc.hpp"
#include "unit/verify/cosign_fixtures.hpp"

#include <gtest/gtest.h>

namespace regcache::verify {
namespace {

using testing::key;
using testing::signature_from;
std::string read(const std::string& name) { return testing::read_fixture(name); }

const core::digest signed_manifest = core::hasher::of(read("manifest.json"));

TEST(cosign, the_fixture_manifest_has_the_digest_its_readme_names) {
  EXPECT_EQ(signed_manifest.str(), "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00");
}

TEST(cosign, a_real_cosign_signature_verifies_with_its_key) {
  const std::vector keys{key("cosign.pub")};
  const auto verdict = check_cosign(signature_from("signature.json"), signed_manifest, keys);
  ASSERT_TRUE(verdict) << verdict.error().message();
  EXPECT_EQ(*verdict, keys[0].fingerprint());
  EXPECT_EQ(keys[0].kind(), key_kind::ecdsa_p256);
}

TEST(cosign, any_configured_key_may_be_the_signer) {
  const std::vector keys{key("cosign2.pub"), key("cosign.pub")};
  const auto verdict = check_cosign(signature_from("signature.json"), signed_manifest, keys);
  ASSERT_TRUE(verdict);
  EXPECT_EQ(*verdict, keys[1].fingerprint());
}

TEST(cosign, another_key_does_not_verify_it) {
  const std::vector keys{key("cosign2.pub")};
  EXPECT_EQ(check_cosign(signature_from("signature.json"), signed_manifest, keys).error(), errc::signature_invalid);
}

TEST(cosign, a_signature_by_an_unknown_key_is_refused) {
  const std::vector keys{key("cosign.pub")};
  EXPECT_EQ(check_cosign(signature_from("signature-unknown-key.json"), signed_manifest, keys).error(),
            errc::signature_invalid);
}

TEST(cosign, the_signature_does_not_cover_a_modified_manifest) {
  const std::vector keys{key("cosign.pub")};
  const auto modified = core::hasher::of(read("modified-manifest.json"));
  ASSERT_NE(modified, signed_manifest);
  EXPECT_EQ(check_cosign(signature_from("signature.json"), modified, keys).error(), errc::digest_not_covered);
}

TEST(cosign, a_changed_payload_byte_breaks_the_signature) {
  const std::vector keys{key("cosign.pub")};
  auto signature = signature_from("signature.json");
  signature.payload.back() = signature.payload.back() == '}' ? ' ' : '}';
  EXPECT_EQ(check_cosign(signature, signed_manifest, keys).error(), errc::signature_invalid);
  signature = signature_from("signature.json");
  signature.signature_base64 = "not base64!";
  EXPECT_EQ(check_cosign(signature, signed_manifest, keys).error(), errc::signature_encoding);
}

TEST(cosign, the_docker_reference_is_checked_against_the_repository_when_asked) {
  const std::vector keys{key("cosign.pub")};
  const auto signature = signature_from("signature.json");
  EXPECT_TRUE(check_cosign(signature, signed_manifest, keys, "cosign-signed-single-sample"));
  EXPECT_EQ(check_cosign(signature, signed_manifest, keys, "other/repository").error(), errc::reference_mismatch);
}

TEST(cosign, simple_signing_payloads_are_parsed_strictly) {
  const auto parsed = parse_simple_signing(signature_from("signature.json").payload);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->manifest_digest, signed_manifest);
  EXPECT_EQ(parsed->docker_reference, "192.168.64.2:5000/cosign-signed-single-sample");
  for (const char* bad : {"", "[]", "{}", R"({"critical":{}})", R"({"critical":{"image":{}}})",
                          R"({"critical":{"image":{"docker-manifest-digest":"sha256:nothex"}}})",
                          R"({"critical":{"image":{"docker-manifest-digest":7}}})"})
    EXPECT_EQ(parse_simple_signing(bad).error(), errc::payload_invalid) << bad;
}

TEST(cosign, reference_names_compares_the_path_without_host_tag_or_digest) {
  EXPECT_TRUE(reference_names("ghcr.io/team/app", "team/app"));
  EXPECT_TRUE(reference_names("registry.internal:5443/team/app:v1", "team/app"));
  EXPECT_TRUE(reference_names("localhost/team/app@sha256:abc", "team/app"));
  EXPECT_TRUE(reference_names("team/app:v1", "team/app"));
  EXPECT_FALSE(reference_names("ghcr.io/team/app2", "team/app"));
  EXPECT_FALSE(reference_names("ghcr.io/other/team/app", "team/app"));
}

}  // namespace
}  // namespace regcache::verify
