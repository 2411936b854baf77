#include "regcache/trust/signature_gate.hpp"

#include "regcache/cache/fill_coordinator.hpp"
#include "regcache/core/base64.hpp"
#include "regcache/trust/errc.hpp"
#include "regcache/trust/signature_artifacts.hpp"
#include "regcache/verify/cosign.hpp"
#include "regcache/verify/notation.hpp"
#include "unit/cache/test_support.hpp"
#include "unit/verify/cosign_fixtures.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>


namespace regcache::trust {
namespace {

using namespace std::chrono_literals;

// Real cosign output: manifest.json signed by the key cosign.pub;
// signature-unknown-key.json signs the same payload with another key;
// modified-manifest.json is another manifest.
using verify::testing::key;
using verify::testing::signature_from;
std::string read(const std::string& name) { return verify::testing::read_fixture(name); }

// A cosign signature artifact as cosign pushes it: one simple-signing layer.
std::string signature_manifest(const core::digest& payload, std::size_t size, const std::string& signature,
                               std::string artifact_type = "") {
  const auto config = core::hasher::of("{}");
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)" +
         (artifact_type.empty() ? std::string() : R"("artifactType":")" + artifact_type + R"(",)") +
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + config.str() +
         R"(","size":2},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":")" +
         payload.str() + R"(","size":)" + std::to_string(size) +
         R"(,"annotations":{"dev.cosignproject.cosign/signature":")" + signature + R"("}}]})";
}

std::string index_of(const std::vector<std::pair<core::digest, std::string>>& entries) {
  std::string out = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    out += std::string(i ? "," : "") + R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
           entries[i].first.str() + R"(","size":10)";
    if (!entries[i].second.empty()) out += R"(,"artifactType":")" + entries[i].second + R"(")";
    out += "}";
  }
  return out + "]}";
}

// A cosign signer of our own (ECDSA P-256, as cosign generate-key-pair
// makes), for manifests the fixtures do not sign.
class test_signer {
 public:
  verify::public_key public_key() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PUBKEY(bio.get(), key_.get());
    char* data = nullptr;
    const auto length = BIO_get_mem_data(bio.get(), &data);
    return verify::public_key::from_pem(std::string_view(data, static_cast<std::size_t>(length))).value();
  }
  // The simple-signing payload naming `manifest`, and its signature.
  verify::cosign_signature sign(const core::digest& manifest) const {
    std::string payload = R"({"critical":{"identity":{"docker-reference":"registry.test/team/app"},"image":)"
                          R"({"docker-manifest-digest":")" + manifest.str() +
                          R"("},"type":"cosign container image signature"},"optional":null})";
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get());
    const auto* bytes = reinterpret_cast<const unsigned char*>(payload.data());
    std::size_t length = 0;
    EVP_DigestSign(ctx.get(), nullptr, &length, bytes, payload.size());
    std::string signature(length, '\0');
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes, payload.size());
    signature.resize(length);
    return {std::move(payload), core::base64_encode(signature)};
  }

 private:
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{EVP_EC_gen("P-256"), EVP_PKEY_free};
};

signature_rule rule_with(mode m, std::vector<verify::public_key> keys, bool check_identity = false) {
  signature_rule r;
  r.repositories = {oci::repository_glob::parse("team/**").value(),
                    oci::repository_glob::parse("cosign-signed-single-sample").value()};
  r.mode = m;
  r.cosign_keys = std::move(keys);
  r.check_identity = check_identity;
  return r;
}

class signature_gate_test : public cache::testing::cache_fixture {
 protected:
  void SetUp() override {
    cache_fixture::SetUp();
    ctx_ = make_context();
    manifests_ = std::make_unique<cache::manifest_cache>(ctx_);
    fills_ = std::make_unique<cache::fill_coordinator>(ctx_);
    blob_cache_ = std::make_unique<cache::blob_cache>(ctx_, *fills_, 5min);
    discovery_ = std::make_unique<cache::discovery>(ctx_);
    source_->tag_ttl = 60s;
  }
  void TearDown() override {
    gate_.reset();
    discovery_.reset();
    blob_cache_.reset();
    fills_.reset();
    manifests_.reset();
    cache_fixture::TearDown();
  }

  signature_gate& use(signature_rule rule) {
    gate_.reset();
    gate_ = std::make_unique<signature_gate>(signature_policy({std::move(rule)}), ctx_, *manifests_, *blob_cache_,
                                             *discovery_);
    return *gate_;
  }

  // Pushes the manifest under `tag` and its digest; returns the digest.
  core::digest push(const std::string& repository, const std::string& tag, const std::string& manifest) {
    const auto digest = core::hasher::of(manifest);
    upstream_.add_manifest(repository, tag, manifest);
    upstream_.add_manifest(repository, digest.str(), manifest);
    return digest;
  }
  // Pushes a signature of `target` as cosign does: the payload blob and the
  // artifact tagged sha256-<hex>.sig.
  void push_signature(const std::string& repository, const core::digest& target, const std::string& fixture) {
    push_signature(repository, target, signature_from(fixture));
  }
  void push_signature(const std::string& repository, const core::digest& target,
                      const verify::cosign_signature& signature) {
    const auto payload = upstream_.add_blob(repository, signature.payload);
    push(repository, cosign_signature_tag(target),
         signature_manifest(payload, signature.payload.size(), signature.signature_base64));
  }

  error_code admit(const std::string& repository, const std::string& manifest,
                   std::shared_ptr<const cache::upstream_source> source = nullptr) {
    return run(gate_->admit_manifest(source ? source : source_, repository, core::hasher::of(manifest),
                                     std::make_shared<const std::string>(manifest)));
  }

  std::uint64_t verdicts(std::string verdict, std::string m) {
    return registry_.get_counter("regcache_signature_verdicts_total", "", {{"verdict", verdict}, {"mode", m}}).value();
  }

  cache::context ctx_;
  std::unique_ptr<cache::manifest_cache> manifests_;
  std::unique_ptr<cache::fill_coordinator> fills_;
  std::unique_ptr<cache::blob_cache> blob_cache_;
  std::unique_ptr<cache::discovery> discovery_;
  std::unique_ptr<signature_gate> gate_;

  const std::string repo_ = "team/app";
  const std::string signed_ = read("manifest.json");
  const core::digest signed_digest_ = core::hasher::of(signed_);
};

TEST_F(signature_gate_test, a_real_cosign_signature_passes_and_makes_the_images_blobs_servable) {
  auto& gate = use(rule_with(mode::enforce, {key("cosign2.pub"), key("cosign.pub")}));
  push(repo_, "v1", signed_);
  push_signature(repo_, signed_digest_, "signature.json");
  EXPECT_FALSE(gate.admitted_from_memory(*source_, repo_, signed_digest_));

  EXPECT_FALSE(admit(repo_, signed_));
  const auto stored = index_->get_verdict(signed_digest_, source_->name, repo_).value();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->failure, 0u);
  EXPECT_EQ(stored->verified_by, key("cosign.pub").fingerprint());
  EXPECT_EQ(stored->key_set, key_set_of(std::vector{key("cosign2.pub"), key("cosign.pub")}, "", false));

  EXPECT_TRUE(gate.admitted_from_memory(*source_, repo_, signed_digest_));
  const auto config = core::digest::parse("sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4");
  const auto layer = core::digest::parse("sha256:9d16cba9fb961d1aafec9542f2bf7cb64acfc55245f9e4eb5abecd4cdc38d749");
  EXPECT_FALSE(gate.admit_blob(*source_, repo_, *config));
  EXPECT_FALSE(gate.admit_blob(*source_, repo_, *layer));
  EXPECT_EQ(gate.admit_blob(*source_, repo_, core::hasher::of("other")), errc::blob_not_verified);
  EXPECT_EQ(gate.admit_blob(*source_, "team/other", *layer), errc::blob_not_verified);
  EXPECT_EQ(verdicts("pass", "enforce"), 2u);
}

TEST_F(signature_gate_test, another_key_unknown_signer_and_a_signature_of_another_manifest_are_refused) {
  use(rule_with(mode::enforce, {key("cosign2.pub")}));
  push(repo_, "v1", signed_);
  push_signature(repo_, signed_digest_, "signature.json");
  EXPECT_EQ(admit(repo_, signed_), errc::signature_invalid);

  use(rule_with(mode::enforce, {key("cosign.pub")}));
  const auto other = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)"
                     R"({"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                     core::hasher::of("c").str() + R"(","size":1},"layers":[]})";
  push_signature(repo_, core::hasher::of(other), "signature-unknown-key.json");
  EXPECT_EQ(admit(repo_, other), errc::signature_invalid);

  // The modified manifest carries the original's signature: it covers another digest.
  const auto modified = read("modified-manifest.json");
  push_signature(repo_, core::hasher::of(modified), "signature.json");
  EXPECT_EQ(admit(repo_, modified), errc::signature_other_digest);
  const auto stored = index_->get_verdict(core::hasher::of(modified), source_->name, repo_).value();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->failure, static_cast<std::uint32_t>(errc::signature_other_digest));
  EXPECT_EQ(verdicts("fail", "enforce"), 3u);
}

TEST_F(signature_gate_test, warn_serves_what_fails_and_counts_it) {
  auto& gate = use(rule_with(mode::warn, {key("cosign.pub")}));
  const auto unsigned_manifest = read("modified-manifest.json");
  const auto digest = push(repo_, "v2", unsigned_manifest);
  EXPECT_FALSE(admit(repo_, unsigned_manifest));
  EXPECT_EQ(index_->get_verdict(digest, source_->name, repo_).value()->failure,
            static_cast<std::uint32_t>(errc::not_signed));
  EXPECT_TRUE(gate.admitted_from_memory(*source_, repo_, digest));
  EXPECT_EQ(verdicts("fail", "warn"), 2u);
  // Blobs are refused only in enforce repositories.
  EXPECT_FALSE(gate.admit_blob(*source_, repo_, core::hasher::of("any")));
}

TEST_F(signature_gate_test, with_gate_blobs_off_enforce_gates_manifests_only) {
  auto rule = rule_with(mode::enforce, {key("cosign.pub")});
  rule.gate_blobs = false;
  auto& gate = use(std::move(rule));
  const auto unsigned_manifest = read("modified-manifest.json");
  push(repo_, "v2", unsigned_manifest);
  EXPECT_EQ(admit(repo_, unsigned_manifest), errc::not_signed);
  // A shard's blob, whose manifest another replica verified.
  EXPECT_FALSE(gate.admit_blob(*source_, repo_, core::hasher::of("any")));
}

TEST_F(signature_gate_test, an_unsigned_manifest_passes_once_a_signature_is_pushed_and_tag_ttl_passed) {
  auto& gate = use(rule_with(mode::enforce, {key("cosign.pub")}));
  push(repo_, "v1", signed_);
  EXPECT_EQ(admit(repo_, signed_), errc::not_signed);
  EXPECT_FALSE(gate.admitted_from_memory(*source_, repo_, signed_digest_));

  push_signature(repo_, signed_digest_, "signature.json");
  EXPECT_EQ(admit(repo_, signed_), errc::not_signed) << "a failure stands until tag_ttl passed";
  clock_.advance(60s);
  EXPECT_FALSE(admit(repo_, signed_));
  EXPECT_EQ(index_->get_verdict(signed_digest_, source_->name, repo_).value()->failure, 0u);
}

TEST_F(signature_gate_test, a_signature_is_found_through_the_referrers_tag_schema) {
  use(rule_with(mode::enforce, {key("cosign.pub")}));
  push(repo_, "v1", signed_);
  const auto signature = signature_from("signature.json");
  const auto payload = upstream_.add_blob(repo_, signature.payload);
  const auto artifact = signature_manifest(payload, signature.payload.size(), signature.signature_base64,
                                           std::string(verify::cosign_artifact_type));
  const auto artifact_digest = push(repo_, "unrelated", artifact);
  push(repo_, referrers_tag(signed_digest_),
       index_of({{core::hasher::of("an sbom"), "application/spdx+json"},
                 {artifact_digest, std::string(verify::cosign_artifact_type)}}));
  EXPECT_FALSE(admit(repo_, signed_));
  EXPECT_EQ(upstream_.count("GET /v2/" + repo_ + "/referrers/" + signed_digest_.str()), 1u);
}

TEST_F(signature_gate_test, the_identity_check_compares_the_signed_reference_with_the_repository) {
  use(rule_with(mode::enforce, {key("cosign.pub")}, true));
  push(repo_, "v1", signed_);
  push_signature(repo_, signed_digest_, "signature.json");
  EXPECT_EQ(admit(repo_, signed_), errc::signature_other_repository);
  // cosign signed it as 192.168.64.2:5000/cosign-signed-single-sample.
  const std::string named = "cosign-signed-single-sample";
  push(named, "v1", signed_);
  push_signature(named, signed_digest_, "signature.json");
  EXPECT_FALSE(admit(named, signed_));
}

TEST_F(signature_gate_test, a_stored_verdict_is_used_until_the_key_set_changes) {
  use(rule_with(mode::enforce, {key("cosign2.pub")}));
  push(repo_, "v1", signed_);
  push_signature(repo_, signed_digest_, "signature.json");
  EXPECT_EQ(admit(repo_, signed_), errc::signature_invalid);
  const auto sig_requests = upstream_.requests().size();

  // The same keys after a restart: the stored verdict decides, nothing is asked.
  use(rule_with(mode::enforce, {key("cosign2.pub")}));
  EXPECT_EQ(admit(repo_, signed_), errc::signature_invalid);
  EXPECT_EQ(upstream_.requests().size(), sig_requests);

  // Another key set: judged again.
  use(rule_with(mode::enforce, {key("cosign2.pub"), key("cosign.pub")}));
  EXPECT_FALSE(admit(repo_, signed_));
}

TEST_F(signature_gate_test, an_index_passes_as_a_whole_and_its_manifests_with_it) {
  const test_signer signer;
  auto& gate = use(rule_with(mode::enforce, {signer.public_key()}));
  // The child has no signature of its own.
  const auto child = push(repo_, "child", signed_);
  const auto index = index_of({{child, ""}});
  const auto index_digest = push(repo_, "multi", index);
  push_signature(repo_, index_digest, signer.sign(index_digest));
  EXPECT_EQ(admit(repo_, signed_), errc::not_signed) << "a child fetched first is judged on its own";

  EXPECT_FALSE(admit(repo_, index));
  EXPECT_FALSE(admit(repo_, signed_)) << "a child of a verified index passes with it";
  EXPECT_TRUE(gate.admitted_from_memory(*source_, repo_, child));
  const auto layer = core::digest::parse("sha256:9d16cba9fb961d1aafec9542f2bf7cb64acfc55245f9e4eb5abecd4cdc38d749");
  EXPECT_FALSE(gate.admit_blob(*source_, repo_, *layer));
  EXPECT_EQ(index_->get_verdict(child, source_->name, repo_).value()->failure,
            static_cast<std::uint32_t>(errc::not_signed))
      << "the stored verdict of the child is its own";
}

TEST_F(signature_gate_test, a_signature_made_with_openssl_like_the_integration_tests_verifies) {
  const test_signer signer, stranger;
  use(rule_with(mode::enforce, {signer.public_key()}, true));
  const auto manifest = read("modified-manifest.json");
  const auto digest = push(repo_, "v3", manifest);
  push_signature(repo_, digest, stranger.sign(digest));
  EXPECT_EQ(admit(repo_, manifest), errc::signature_invalid);
  use(rule_with(mode::enforce, {signer.public_key()}, true));
  push_signature(repo_, digest, signer.sign(digest));
  EXPECT_EQ(admit(repo_, manifest), errc::signature_invalid) << "the stored failure stands until tag_ttl";
  clock_.advance(60s);
  EXPECT_FALSE(admit(repo_, manifest));
}

// A Notary Project signature artifact as notation pushes it: the envelope
// as its one layer, `subject` the signed manifest.
std::string notation_artifact(const core::digest& envelope, std::size_t size, std::string_view media_type,
                              const core::digest& subject, std::size_t subject_size) {
  const auto config = core::hasher::of("{}");
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":")" +
         std::string(verify::notation_artifact_type) + R"(","config":{"mediaType":"application/vnd.oci.empty.v1+json",)" +
         R"("digest":")" + config.str() + R"(","size":2},"layers":[{"mediaType":")" + std::string(media_type) +
         R"(","digest":")" + envelope.str() + R"(","size":)" + std::to_string(size) +
         R"(}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + subject.str() +
         R"(","size":)" + std::to_string(subject_size) + "}}";
}

TEST_F(signature_gate_test, a_real_notation_signature_passes_under_its_trust_store_and_a_cose_one_is_refused) {
  const auto fixtures = std::filesystem::path(REGCACHE_SOURCE_DIR) / "tests/fixtures/notation";
  const auto read_notation = [&](const char* name) {
    std::ifstream in(fixtures / name, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  };
  auto rule = rule_with(mode::enforce, {});
  rule.notation_trust_store = verify::trust_store::from_file(fixtures / "alpine.pem").value();
  use(std::move(rule));
  // Real notation output: the manifest, its JWS envelope, found through the
  // referrers tag schema (the fake upstream has no referrers API).
  const auto manifest = read_notation("manifest.json");
  const auto digest = push(repo_, "v1", manifest);
  const auto envelope = read_notation("signature.jws");
  const auto layer = upstream_.add_blob(repo_, envelope);
  const auto artifact = push(repo_, "notation-signature",
                             notation_artifact(layer, envelope.size(), verify::jws_media_type, digest, manifest.size()));
  push(repo_, referrers_tag(digest), index_of({{artifact, std::string(verify::notation_artifact_type)}}));
  EXPECT_FALSE(admit(repo_, manifest));
  const auto stored = index_->get_verdict(digest, source_->name, repo_).value();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->failure, 0u);
  EXPECT_TRUE(stored->verified_by.starts_with("sha256:")) << stored->verified_by;

  // A COSE envelope is refused for its type, its bytes never read.
  const auto other = read("modified-manifest.json");
  const auto other_digest = push(repo_, "v2", other);
  const auto cose = core::hasher::of("a COSE_Sign1 envelope");
  const auto cose_artifact =
      push(repo_, "cose-signature", notation_artifact(cose, 21, verify::cose_media_type, other_digest, other.size()));
  push(repo_, referrers_tag(other_digest), index_of({{cose_artifact, std::string(verify::notation_artifact_type)}}));
  EXPECT_EQ(admit(repo_, other), errc::signature_unsupported);
}

TEST_F(signature_gate_test, unreachable_signatures_refuse_in_enforce_serve_in_warn_and_store_nothing) {
  auto unreachable = cache::testing::test_upstream::source_at(1, ioc_.get_executor(), registry_);
  use(rule_with(mode::enforce, {key("cosign.pub")}));
  EXPECT_EQ(admit(repo_, signed_, unreachable), errc::signatures_unavailable);
  EXPECT_FALSE(index_->get_verdict(signed_digest_, unreachable->name, repo_).value());
  use(rule_with(mode::warn, {key("cosign.pub")}));
  EXPECT_FALSE(admit(repo_, signed_, unreachable));
  EXPECT_EQ(verdicts("unavailable", "enforce"), 1u);
  EXPECT_EQ(verdicts("unavailable", "warn"), 1u);
}

TEST_F(signature_gate_test, signature_artifacts_and_unruled_repositories_are_served) {
  auto& gate = use(rule_with(mode::enforce, {key("cosign.pub")}));
  const auto signature = signature_from("signature.json");
  const auto payload = core::hasher::of(signature.payload);
  const auto artifact = signature_manifest(payload, signature.payload.size(), signature.signature_base64);
  EXPECT_FALSE(admit(repo_, artifact));
  EXPECT_FALSE(gate.admit_blob(*source_, repo_, payload));
  EXPECT_TRUE(upstream_.requests().empty());

  EXPECT_FALSE(gate.checks(*source_, "library/alpine"));
  EXPECT_TRUE(gate.admitted_from_memory(*source_, "library/alpine", signed_digest_));
  EXPECT_FALSE(admit("library/alpine", signed_));
  EXPECT_FALSE(gate.admit_blob(*source_, "library/alpine", payload));
}

TEST_F(signature_gate_test, a_removed_manifest_takes_its_stored_verdicts_along) {
  use(rule_with(mode::enforce, {key("cosign.pub")}));
  push(repo_, "v1", signed_);
  push_signature(repo_, signed_digest_, "signature.json");
  EXPECT_FALSE(admit(repo_, signed_));
  ASSERT_FALSE(index_->put_manifest(signed_digest_, {"application/vnd.docker.distribution.manifest.v2+json", signed_, 1, 1}));
  ASSERT_TRUE(remover_->remove_manifest(signed_digest_).value());
  EXPECT_FALSE(index_->get_verdict(signed_digest_, source_->name, repo_).value());
}

}  // namespace
}  // namespace regcache::trust
