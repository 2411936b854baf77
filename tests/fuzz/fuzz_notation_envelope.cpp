// check_notation on arbitrary envelopes under a trust store holding the
// certificate of the real notation signature in the seed corpus, and
// parse_notation_payload on the same text: mutations of the seed reach the
// header, certificate, chain and signature checks, and nothing verifies for
// a digest the seed does not sign (only a forged signature could).
#include "regcache/verify/notation.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>

using namespace regcache;

namespace {

// tests/fixtures/notation/alpine.pem: the self-signed signer of the seed.
constexpr std::string_view alpine_pem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDQDCCAiigAwIBAgIBUTANBgkqhkiG9w0BAQsFADBOMQswCQYDVQQGEwJVUzEL\n"
    "MAkGA1UECBMCV0ExEDAOBgNVBAcTB1NlYXR0bGUxDzANBgNVBAoTBk5vdGFyeTEP\n"
    "MA0GA1UEAxMGYWxwaW5lMCAXDTAwMDgyOTEzNTAwMFoYDzIxMjMwODI5MTM1MDAw\n"
    "WjBOMQswCQYDVQQGEwJVUzELMAkGA1UECBMCV0ExEDAOBgNVBAcTB1NlYXR0bGUx\n"
    "DzANBgNVBAoTBk5vdGFyeTEPMA0GA1UEAxMGYWxwaW5lMIIBIjANBgkqhkiG9w0B\n"
    "AQEFAAOCAQ8AMIIBCgKCAQEAocg3qEsyNDDLfB8OHD4dhi+M1NPK1Asy5NX84c+g\n"
    "vacZuoPLTwmpOfm6nPt7GPPB9G7S6xxhFNbRxTYfYUjK+kaCj38XjBRf5lGewbSJ\n"
    "KVkxQ82/axU70ceSW3JpazrageN9JUTZ/Jfi4MfnipITwcmMoiij8eGrHskjyVyZ\n"
    "bJd0WMMKRDWVhLPUiPMVWt/4d7YtZItzacaQKtXmXgsTCTWpIols3gftNYjrQoMs\n"
    "UelUdD8vOAWN9J28/SyC+uSh/K1KfyUlbqufn4di8DEBxntP5wnXYbJL1jtjsUgE\n"
    "xAVjQxT1zI59X36m3t3YKqCQh1cud02L5onObY6zj57N6QIDAQABoycwJTAOBgNV\n"
    "HQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwMwDQYJKoZIhvcNAQELBQAD\n"
    "ggEBAC8AjBLy7EsRpi6oguCdFSb6nRGjvF17N+b6mDb3sARnB8T1pxvzTT26ya+A\n"
    "yWR+jjodEwbMIS+13lV+9qT2LwqlbOUNY519Pa2GRRY72JjeowWI3iKkKaMzfZUB\n"
    "7lRTGXdEuZApLbTO/3JVcR9ffu00N1UaAP9YGElSt4JDJYA9M+d/Qto+HiIsE0Kj\n"
    "+jdnwIYovPPOlryKOLfFb/r1GEq7n63xFZz83iyWNaZdsJ5N3YHxdOpkbBbCalOE\n"
    "BDJTjQKqeAYBLoANNU0OBslmqHCSBTEnhbqJHN6QKyF09ScOl5LwM1QsTl0UY5si\n"
    "GLAfj/jSf9OH9VLTPHOS8/N0Ka4=\n"
    "-----END CERTIFICATE-----\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const verify::trust_store store = verify::trust_store::from_pem(alpine_pem).value();
  // Not the seed's manifest (sha256:19dbd2e4...): a pass here would be a forgery.
  static const core::digest other =
      core::digest::parse("sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00").value();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto now = std::chrono::system_clock::time_point{std::chrono::seconds{1'780'000'000}};

  if (verify::check_notation(verify::jws_media_type, text, other, store, now)) std::abort();
  if (verify::check_notation(verify::cose_media_type, text, other, store, now)) std::abort();
  if (const auto target = verify::parse_notation_payload(text)) {
    if (!core::digest::parse(target->digest.str())) std::abort();
  }
  return 0;
}
