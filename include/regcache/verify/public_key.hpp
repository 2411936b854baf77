#pragma once
// A signer's public key (PEM SubjectPublicKeyInfo, as `cosign generate-key-pair`
// writes cosign.pub) and the check of a signature over bytes with it:
// ECDSA P-256 / P-384 with SHA-256 / SHA-384 (DER signatures), RSA with
// SHA-256 as PKCS #1 v1.5 or PSS, and Ed25519.
#include "regcache/core/result.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

struct evp_pkey_st;

namespace regcache::verify {

enum class key_kind { ecdsa_p256, ecdsa_p384, rsa, ed25519 };

class public_key {
 public:
  [[nodiscard]] static result<public_key> from_pem(std::string_view pem);
  [[nodiscard]] static result<public_key> from_file(const std::filesystem::path& file);

  key_kind kind() const noexcept { return kind_; }
  // "sha256:<hex>" of the DER SubjectPublicKeyInfo: names the key in logs
  // and in stored verdicts (a verdict is redone when the key set changes).
  const std::string& fingerprint() const noexcept { return fingerprint_; }
  // Whether `signature` is this key's signature over `message`.
  bool verifies(std::string_view message, std::string_view signature) const;

 private:
  public_key(std::shared_ptr<evp_pkey_st> key, key_kind kind, std::string fingerprint)
      : key_(std::move(key)), kind_(kind), fingerprint_(std::move(fingerprint)) {}

  std::shared_ptr<evp_pkey_st> key_;
  key_kind kind_;
  std::string fingerprint_;
};

}  // namespace regcache::verify
