#pragma once
// A content digest ("sha256:<64 hex>") as defined by the OCI image-spec.
//
// parse() accepts only the algorithms regcache can verify (sha256, sha512)
// with their exact lowercase-hex encodings; anything else is invalid_digest
// (bad grammar) or unsupported_digest (valid grammar, unknown algorithm).
#include "regcache/core/result.hpp"

#include <compare>
#include <string>
#include <string_view>

namespace regcache::core {

class digest {
 public:
  enum class algorithm { sha256, sha512 };

  [[nodiscard]] static result<digest> parse(std::string_view text);
  // The digest of a finished hash, from its lowercase hex encoding.
  [[nodiscard]] static digest from_hex(algorithm alg, std::string hex);

  algorithm alg() const noexcept { return alg_; }
  std::string_view algorithm_name() const noexcept;
  const std::string& hex() const noexcept { return hex_; }
  const std::string& str() const noexcept { return text_; }

  friend bool operator==(const digest& a, const digest& b) noexcept { return a.text_ == b.text_; }
  friend auto operator<=>(const digest& a, const digest& b) noexcept { return a.text_ <=> b.text_; }

 private:
  digest(algorithm alg, std::string hex);
  algorithm alg_ = algorithm::sha256;
  std::string hex_;
  std::string text_;
};

}  // namespace regcache::core

template <>
struct std::hash<regcache::core::digest> {
  std::size_t operator()(const regcache::core::digest& d) const noexcept {
    return std::hash<std::string>{}(d.str());
  }
};
