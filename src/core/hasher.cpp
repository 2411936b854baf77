#include "regcache/core/hasher.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace regcache::core {

struct hasher::state {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~state() { EVP_MD_CTX_free(ctx); }
};

hasher::hasher(digest::algorithm alg) : state_(std::make_unique<state>()), alg_(alg) {
  const EVP_MD* md = alg == digest::algorithm::sha256 ? EVP_sha256() : EVP_sha512();
  // Only fails on allocation failure inside OpenSSL: not recoverable here.
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, md, nullptr) != 1)
    throw std::runtime_error("EVP_DigestInit_ex failed");
}

hasher::~hasher() = default;
hasher::hasher(hasher&&) noexcept = default;
hasher& hasher::operator=(hasher&&) noexcept = default;

void hasher::update(std::span<const std::byte> bytes) {
  EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

void hasher::update(std::string_view bytes) { EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size()); }

digest hasher::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, md, &len);
  static constexpr char hex_digits[] = "0123456789abcdef";
  std::string hex(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = hex_digits[md[i] >> 4];
    hex[2 * i + 1] = hex_digits[md[i] & 0xf];
  }
  return digest::from_hex(alg_, std::move(hex));
}

digest hasher::of(std::string_view bytes, digest::algorithm alg) {
  hasher h(alg);
  h.update(bytes);
  return h.finish();
}

}  // namespace regcache::core
