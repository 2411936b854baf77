#pragma once
// Streaming content hasher (OpenSSL EVP underneath, not exposed).
// Not thread-safe; one hasher per stream of bytes.
#include "regcache/core/digest.hpp"

#include <memory>
#include <span>
#include <string_view>

namespace regcache::core {

class hasher {
 public:
  explicit hasher(digest::algorithm alg = digest::algorithm::sha256);
  ~hasher();
  hasher(hasher&&) noexcept;
  hasher& operator=(hasher&&) noexcept;

  void update(std::span<const std::byte> bytes);
  void update(std::string_view bytes);
  // Finishes the hash; the hasher must not be updated afterwards.
  [[nodiscard]] digest finish();

  // One-shot convenience for small in-memory content (manifests).
  [[nodiscard]] static digest of(std::string_view bytes,
                                 digest::algorithm alg = digest::algorithm::sha256);

 private:
  struct state;
  std::unique_ptr<state> state_;
  digest::algorithm alg_;
};

}  // namespace regcache::core
