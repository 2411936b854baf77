#include "regcache/verify/public_key.hpp"

#include "regcache/core/hasher.hpp"
#include "regcache/verify/errc.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

namespace regcache::verify {
namespace {

struct evp_md_ctx_free {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using md_ctx = std::unique_ptr<EVP_MD_CTX, evp_md_ctx_free>;

result<key_kind> kind_of(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return key_kind::rsa;
    case EVP_PKEY_ED25519: return key_kind::ed25519;
    case EVP_PKEY_EC: {
      char curve[64] = {};
      size_t length = 0;
      if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &length) != 1)
        return errc::key_unsupported;
      const std::string_view name(curve, length);
      if (name == "prime256v1" || name == "P-256") return key_kind::ecdsa_p256;
      if (name == "secp384r1" || name == "P-384") return key_kind::ecdsa_p384;
      return errc::key_unsupported;
    }
    default: return errc::key_unsupported;
  }
}

// One EVP_DigestVerify with `md` (nullptr for Ed25519) and, for RSA, `padding`.
bool digest_verifies(EVP_PKEY* key, const EVP_MD* md, int padding, std::string_view message,
                     std::string_view signature) {
  md_ctx ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) return false;
  if (padding != 0) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, padding) != 1) return false;
    if (padding == RSA_PKCS1_PSS_PADDING && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1)
      return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

}  // namespace

result<public_key> public_key::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return errc::key_unreadable;
  std::shared_ptr<EVP_PKEY> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) return errc::key_unreadable;
  auto kind = kind_of(key.get());
  if (!kind) return kind.error();
  unsigned char* der = nullptr;
  const int der_length = i2d_PUBKEY(key.get(), &der);
  if (der_length <= 0) return errc::key_unreadable;
  const std::string spki(reinterpret_cast<const char*>(der), static_cast<std::size_t>(der_length));
  OPENSSL_free(der);
  return public_key(std::move(key), *kind, core::hasher::of(spki).str());
}

result<public_key> public_key::from_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return errc::key_unreadable;
  std::ostringstream content;
  content << in.rdbuf();
  return from_pem(content.str());
}

bool public_key::verifies(std::string_view message, std::string_view signature) const {
  switch (kind_) {
    case key_kind::ecdsa_p256: return digest_verifies(key_.get(), EVP_sha256(), 0, message, signature);
    case key_kind::ecdsa_p384: return digest_verifies(key_.get(), EVP_sha384(), 0, message, signature);
    case key_kind::ed25519: return digest_verifies(key_.get(), nullptr, 0, message, signature);
    case key_kind::rsa:
      return digest_verifies(key_.get(), EVP_sha256(), RSA_PKCS1_PADDING, message, signature) ||
             digest_verifies(key_.get(), EVP_sha256(), RSA_PKCS1_PSS_PADDING, message, signature);
  }
  return false;
}

}  // namespace regcache::verify
