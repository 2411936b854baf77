#pragma once
// Notary Project (notation) signatures. notation stores a signature as an
// OCI artifact whose subject is the signed manifest (artifactType
// application/vnd.cncf.notary.signature) with one layer: the signature
// envelope. regcache checks JWS envelopes (application/jose+json) in the
// flattened JSON serialization:
//
//   { "payload":   BASE64URL({"targetArtifact": <descriptor of the manifest>}),
//     "protected": BASE64URL({"alg", "cty", "crit", "io.cncf.notary.signingScheme",
//                             "io.cncf.notary.signingTime", ["io.cncf.notary.expiry"]}),
//     "header":    {"x5c": [BASE64(DER leaf), BASE64(DER intermediate)..., BASE64(DER root)]},
//     "signature": BASE64URL(sign(protected "." payload)) }
//
// Trust is a chain from the envelope's leaf certificate to a certificate of
// the configured trust store (signing scheme notary.x509); signatures that
// need a timestamp authority (notary.x509.signingAuthority) or a
// verification plugin, and COSE envelopes, are refused with a reason.
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct x509_st;

namespace regcache::verify {

inline constexpr std::string_view notation_artifact_type = "application/vnd.cncf.notary.signature";
inline constexpr std::string_view jws_media_type = "application/jose+json";
inline constexpr std::string_view cose_media_type = "application/cose";
inline constexpr std::string_view notation_payload_media_type = "application/vnd.cncf.notary.payload.v1+json";

// The certificates signatures must chain to: one or more PEM certificates
// (roots, or intermediates trusted as anchors themselves). Immutable after
// construction; copies share the certificates and may be used from any thread.
class trust_store {
 public:
  // trust_store_unreadable when the text holds no PEM certificate or one
  // that does not parse.
  [[nodiscard]] static result<trust_store> from_pem(std::string_view pem);
  [[nodiscard]] static result<trust_store> from_file(const std::filesystem::path& file);

  // "sha256:<hex>" over the certificates' DER in file order: names the store
  // in stored verdicts (a verdict is redone when the store changes).
  const std::string& fingerprint() const noexcept { return fingerprint_; }
  const std::vector<std::shared_ptr<x509_st>>& certificates() const noexcept { return certificates_; }

 private:
  trust_store(std::vector<std::shared_ptr<x509_st>> certificates, std::string fingerprint)
      : certificates_(std::move(certificates)), fingerprint_(std::move(fingerprint)) {}

  std::vector<std::shared_ptr<x509_st>> certificates_;
  std::string fingerprint_;
};

// The descriptor a Notary Project payload names as signed.
struct notation_target {
  core::digest digest;
  std::uint64_t size = 0;
  std::string media_type;
};
// The signed payload {"targetArtifact": {mediaType, digest, size, ...}}; all
// three fields are required. payload_invalid otherwise.
[[nodiscard]] result<notation_target> parse_notation_payload(std::string_view payload);

// What the caller knows of the signed manifest besides its digest: a payload
// naming the digest with another size or media type is refused.
struct manifest_facts {
  std::uint64_t size = 0;
  std::string_view media_type;
};

// Checks one signature envelope (the blob of the signature manifest's layer,
// `envelope_media_type` that layer's mediaType) against `manifest`:
//   envelope_unsupported    COSE or any other envelope type than JWS;
//   envelope_invalid        not flattened JWS JSON, bad Base64/JSON, a missing
//                           or malformed required header, an x5c that is not
//                           DER certificates;
//   algorithm_unsupported   alg other than ES256/ES384/ES512/PS256/PS384/PS512,
//                           or not the one the leaf key implies (P-256/384/521,
//                           RSA 2048/3072/4096);
//   scheme_unsupported      a signing scheme, payload type (cty) or critical
//                           header regcache does not process;
//   certificate_invalid     the chain is not ordered leaf to root, or a
//                           certificate breaks the Notary Project rules (leaf:
//                           critical keyUsage digitalSignature only, no CA, no
//                           TLS/e-mail/timestamping EKU; CA: critical
//                           basicConstraints and keyCertSign; no SHA-1/MD5);
//   certificate_untrusted   the chain does not lead to a certificate of `store`;
//   certificate_expired     a certificate is outside its validity at the
//                           signing time or at `now`;
//   signature_invalid       the leaf key does not verify the JWS signature;
//   payload_invalid         the verified payload is not a Notary Project payload;
//   digest_not_covered      the payload names another digest;
//   target_mismatch         it names `manifest` with another size or media type;
//   signature_expired       io.cncf.notary.expiry is at or before `now`.
// Nothing in the payload is read before the signature verified.
// Returns "sha256:<hex>" of the signing (leaf) certificate's DER.
[[nodiscard]] result<std::string> check_notation(std::string_view envelope_media_type, std::string_view envelope,
                                                 const core::digest& manifest, const trust_store& store,
                                                 std::chrono::system_clock::time_point now,
                                                 std::optional<manifest_facts> facts = std::nullopt);

}  // namespace regcache::verify
