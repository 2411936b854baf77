#include "regcache/core/digest.hpp"

#include "regcache/core/errc.hpp"

#include <algorithm>

namespace regcache::core {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_lower_hex(char c) { return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9'); }
bool is_encoded_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '=' ||
         c == '_' || c == '-';
}

// algorithm := component (separator component)*, component := [a-z0-9]+, separator := [+._-]
bool is_algorithm_grammar(std::string_view alg) {
  bool need_component = true;
  for (char c : alg) {
    if (is_lower_alnum(c)) {
      need_component = false;
    } else if (c == '+' || c == '.' || c == '_' || c == '-') {
      if (need_component) return false;
      need_component = true;
    } else {
      return false;
    }
  }
  return !need_component;
}

}  // namespace

digest::digest(algorithm alg, std::string hex)
    : alg_(alg), hex_(std::move(hex)), text_(std::string(algorithm_name()) + ":" + hex_) {}

std::string_view digest::algorithm_name() const noexcept {
  return alg_ == algorithm::sha256 ? "sha256" : "sha512";
}

digest digest::from_hex(algorithm alg, std::string hex) { return digest(alg, std::move(hex)); }

result<digest> digest::parse(std::string_view text) {
  // Longest legal digest is far below this; bound work on hostile input.
  if (text.size() > 256) return errc::invalid_digest;
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return errc::invalid_digest;
  const auto alg = text.substr(0, colon);
  const auto enc = text.substr(colon + 1);
  if (!is_algorithm_grammar(alg) || enc.empty() || !std::all_of(enc.begin(), enc.end(), is_encoded_char))
    return errc::invalid_digest;
  std::size_t want = 0;
  algorithm a{};
  if (alg == "sha256") {
    a = algorithm::sha256;
    want = 64;
  } else if (alg == "sha512") {
    a = algorithm::sha512;
    want = 128;
  } else {
    return errc::unsupported_digest;
  }
  if (enc.size() != want || !std::all_of(enc.begin(), enc.end(), is_lower_hex)) return errc::invalid_digest;
  return digest(a, std::string(enc));
}

}  // namespace regcache::core
