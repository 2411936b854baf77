#pragma once
// Where a manifest's signatures are stored and what a signature artifact
// holds. Pure functions over manifest bytes; thread-safe.
//
// cosign stores the signatures of manifest sha256:<hex> as an image
// manifest tagged `sha256-<hex>.sig` in the same repository (or, in its OCI
// 1.1 mode, as a referrer with artifactType verify::cosign_artifact_type): each
// layer is a simple-signing payload blob with the Base64 signature in the
// layer's annotation. The Notary Project (notation) stores each signature
// as a referrer with artifactType verify::notation_artifact_type whose one layer is
// the signature envelope (JWS application/jose+json, or COSE). Referrers
// come from the registry's referrers API, or, on a registry without it,
// from the index tagged `sha256-<hex>` (the referrers tag schema).
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"
#include "regcache/verify/cosign.hpp"
#include "regcache/verify/notation.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::trust {

// cosign's tag for the signatures of `manifest`: "sha256-<hex>.sig".
[[nodiscard]] std::string cosign_signature_tag(const core::digest& manifest);
// The referrers tag schema's tag for the referrers of `manifest`: "sha256-<hex>".
[[nodiscard]] std::string referrers_tag(const core::digest& manifest);

enum class signature_kind { cosign, notation };

// One signature layer of a signature artifact.
struct signature_layer {
  signature_kind kind = signature_kind::cosign;
  std::string media_type;
  core::digest blob;  // cosign: the simple-signing payload; notation: the envelope
  std::uint64_t size = 0;
  std::string cosign_signature;  // cosign: the annotation's Base64 signature; notation: empty
};

// The signature layers of an artifact manifest: the layers of the
// simple-signing media type (cosign), and the JWS or COSE layers of a
// Notary Project signature (its artifactType, or its config's media type
// in older notation versions, is notation_artifact_type). Other layers are
// left out. Errors: oci::errc::manifest_invalid (not a manifest), or
// what oci::parse_manifest refuses.
[[nodiscard]] result<std::vector<signature_layer>> signature_layers(std::string_view manifest);

// Whether a manifest is a signature artifact and nothing else: it has
// layers and every one is a signature layer, so no runtime can run it; or
// it is an index listing only signatures (the referrers tag schema's). The
// gate serves these without a signature of their own (clients such as
// cosign verify fetch them).
[[nodiscard]] bool is_signature_artifact(std::string_view manifest);

struct referrer {
  core::digest manifest;
  std::string artifact_type;
};

// The entries of a referrers index (the referrers API's answer, or the
// index of the referrers tag schema) whose artifactType is cosign's or
// notation's. Errors: oci::errc::manifest_invalid.
[[nodiscard]] result<std::vector<referrer>> signature_referrers(std::string_view index);

}  // namespace regcache::trust
