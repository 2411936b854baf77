// parse_simple_signing and reference_names on arbitrary text, and
// check_cosign with it as payload and as signature: a payload that parses
// names a valid digest, and nothing unsigned ever verifies.
#include "regcache/verify/cosign.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace regcache;

namespace {

// A P-256 key nobody has the private half of: no fuzzer input may verify with it.
constexpr std::string_view key_pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFNLqFhf4fiN6o/glAuYnq2jYUeL0\n"
    "vRuLu/z39pmbVwS9ff5AYnlwaP9sxREajdLY9ynM6G1sy6AAmb7Z63TsLg==\n"
    "-----END PUBLIC KEY-----\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const verify::public_key key = verify::public_key::from_pem(key_pem).value();
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto parsed = verify::parse_simple_signing(text)) {
    if (!core::digest::parse(parsed->manifest_digest.str())) std::abort();
  }
  const auto half = text.size() / 2;
  (void)verify::reference_names(text.substr(0, half), text.substr(half));

  const auto digest = core::digest::parse("sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00").value();
  const verify::public_key keys[] = {key};
  const verify::cosign_signature as_payload{std::string(text), "MEUCIQ=="};
  if (verify::check_cosign(as_payload, digest, keys)) std::abort();
  const verify::cosign_signature as_signature{"{}", std::string(text)};
  if (verify::check_cosign(as_signature, digest, keys)) std::abort();
  return 0;
}
