#include "regcache/verify/public_key.hpp"

#include "regcache/verify/errc.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

namespace regcache::verify {
namespace {

struct pkey_free {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using private_key = std::unique_ptr<EVP_PKEY, pkey_free>;

private_key generate(const char* algorithm, const char* parameter = nullptr) {
  if (parameter && std::string_view(algorithm) == "EC") return private_key(EVP_EC_gen(parameter));
  if (std::string_view(algorithm) == "RSA") return private_key(EVP_RSA_gen(2048));
  return private_key(EVP_PKEY_Q_keygen(nullptr, nullptr, algorithm));
}

std::string public_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

// Signs `message` as a cosign key of that type would (`padding` 0 but for RSA).
std::string sign(EVP_PKEY* key, const EVP_MD* md, std::string_view message, int padding = 0) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key);
  if (padding) EVP_PKEY_CTX_set_rsa_padding(pctx, padding);
  std::size_t length = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(message.data());
  EVP_DigestSign(ctx.get(), nullptr, &length, bytes, message.size());
  std::string signature(length, '\0');
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes, message.size());
  signature.resize(length);
  return signature;
}

struct case_ {
  const char* name;
  private_key key;
  const EVP_MD* md;
  int padding;
  key_kind kind;
};

TEST(public_key, every_supported_key_type_verifies_its_own_signatures_only) {
  std::vector<case_> cases;
  cases.push_back({"P-256", generate("EC", "P-256"), EVP_sha256(), 0, key_kind::ecdsa_p256});
  cases.push_back({"P-384", generate("EC", "P-384"), EVP_sha384(), 0, key_kind::ecdsa_p384});
  cases.push_back({"RSA PKCS#1 v1.5", generate("RSA"), EVP_sha256(), RSA_PKCS1_PADDING, key_kind::rsa});
  cases.push_back({"RSA-PSS", generate("RSA"), EVP_sha256(), RSA_PKCS1_PSS_PADDING, key_kind::rsa});
  cases.push_back({"Ed25519", generate("ED25519"), nullptr, 0, key_kind::ed25519});
  const std::string message = R"({"critical":{"image":{"docker-manifest-digest":"sha256:00"}}})";
  for (const auto& c : cases) {
    ASSERT_TRUE(c.key) << c.name;
    const auto key = public_key::from_pem(public_pem(c.key.get()));
    ASSERT_TRUE(key) << c.name << ": " << key.error().message();
    EXPECT_EQ(key->kind(), c.kind) << c.name;
    EXPECT_TRUE(key->fingerprint().starts_with("sha256:")) << c.name;
    const auto signature = sign(c.key.get(), c.md, message, c.padding);
    EXPECT_TRUE(key->verifies(message, signature)) << c.name;
    EXPECT_FALSE(key->verifies(message + " ", signature)) << c.name;
    EXPECT_FALSE(key->verifies(message, "")) << c.name;
  }
}

TEST(public_key, other_curves_and_non_keys_are_refused_with_a_reason) {
  const auto p521 = generate("EC", "P-521");
  EXPECT_EQ(public_key::from_pem(public_pem(p521.get())).error(), errc::key_unsupported);
  EXPECT_EQ(public_key::from_pem("not a key").error(), errc::key_unreadable);
  EXPECT_EQ(public_key::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").error(),
            errc::key_unreadable);
  EXPECT_EQ(public_key::from_file("/nonexistent/cosign.pub").error(), errc::key_unreadable);
}

TEST(public_key, the_fingerprint_is_the_same_for_the_same_key) {
  const auto k = generate("EC", "P-256");
  const auto pem = public_pem(k.get());
  EXPECT_EQ(public_key::from_pem(pem)->fingerprint(), public_key::from_pem(pem)->fingerprint());
  const auto other = generate("EC", "P-256");
  EXPECT_NE(public_key::from_pem(public_pem(other.get()))->fingerprint(), public_key::from_pem(pem)->fingerprint());
}

}  // namespace
}  // namespace regcache::verify
