#pragma once
// cosign's key-based signatures. cosign signs a "simple signing" payload, a
// JSON document naming the signed manifest by digest, and stores payload and
// signature as one layer of an artifact tagged `sha256-<hex>.sig` next to the
// image (or as an OCI 1.1 referrer of it): the layer blob is the payload, its
// annotation `dev.cosignproject.cosign/signature` the Base64 signature over
// the payload's exact bytes.
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"
#include "regcache/verify/public_key.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace regcache::verify {

inline constexpr std::string_view cosign_signature_annotation = "dev.cosignproject.cosign/signature";
// The artifactType of cosign's signature artifacts when stored as OCI 1.1 referrers.
inline constexpr std::string_view cosign_artifact_type = "application/vnd.dev.cosign.artifact.sig.v1+json";
inline constexpr std::string_view simple_signing_media_type = "application/vnd.dev.cosign.simplesigning.v1+json";

// What a simple-signing payload says.
struct simple_signing {
  core::digest manifest_digest;   // critical.image.docker-manifest-digest
  std::string docker_reference;   // critical.identity.docker-reference (may be empty)
};
[[nodiscard]] result<simple_signing> parse_simple_signing(std::string_view payload);

// Whether a docker-reference ("host:port/path/name", with an optional tag
// or digest) names `repository` (its path without the registry host).
bool reference_names(std::string_view docker_reference, std::string_view repository);

// One signature layer: the payload blob's bytes and the annotation's value.
struct cosign_signature {
  std::string payload;
  std::string signature_base64;
};

// Checks one signature of `manifest`: some key of `keys` verifies it over the
// payload's bytes, the payload names `manifest`, and, when `repository` is
// given, the payload's docker-reference names it. The fingerprint of the key
// that verified it, or why it does not hold.
[[nodiscard]] result<std::string> check_cosign(const cosign_signature& signature, const core::digest& manifest,
                                               std::span<const public_key> keys,
                                               std::optional<std::string_view> repository = std::nullopt);

}  // namespace regcache::verify
