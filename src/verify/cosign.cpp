#include "regcache/verify/cosign.hpp"

#include "regcache/core/base64.hpp"
#include "regcache/verify/errc.hpp"

#include <boost/json/parse.hpp>

namespace regcache::verify {
namespace json = boost::json;

namespace {

// The string at `object.key`, or nullptr.
const json::string* string_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value ? value->if_string() : nullptr;
}

const json::object* object_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value ? value->if_object() : nullptr;
}

// A registry host is the first path component when it has a dot, a port or is localhost.
bool looks_like_host(std::string_view component) {
  return component.find_first_of(".:") != std::string_view::npos || component == "localhost";
}

}  // namespace

result<simple_signing> parse_simple_signing(std::string_view payload) {
  error_code ec;
  const auto document = json::parse(payload, ec);
  if (ec || !document.is_object()) return errc::payload_invalid;
  const auto* critical = object_at(document.get_object(), "critical");
  const auto* image = critical ? object_at(*critical, "image") : nullptr;
  const auto* named = image ? string_at(*image, "docker-manifest-digest") : nullptr;
  if (!named) return errc::payload_invalid;
  auto digest = core::digest::parse(std::string_view(*named));
  if (!digest) return errc::payload_invalid;
  simple_signing out{std::move(*digest), {}};
  if (const auto* identity = object_at(*critical, "identity"))
    if (const auto* reference = string_at(*identity, "docker-reference")) out.docker_reference = std::string(*reference);
  return out;
}

bool reference_names(std::string_view docker_reference, std::string_view repository) {
  auto name = docker_reference;
  if (const auto at = name.find('@'); at != std::string_view::npos) name = name.substr(0, at);
  // A tag follows the last ':' after the last '/' (a ':' before it is a port).
  const auto slash = name.rfind('/');
  if (const auto colon = name.rfind(':'); colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash))
    name = name.substr(0, colon);
  if (const auto first = name.find('/'); first != std::string_view::npos && looks_like_host(name.substr(0, first)))
    name = name.substr(first + 1);
  return name == repository;
}

result<std::string> check_cosign(const cosign_signature& signature, const core::digest& manifest,
                                 std::span<const public_key> keys, std::optional<std::string_view> repository) {
  const auto raw = core::base64_decode(signature.signature_base64);
  if (!raw) return errc::signature_encoding;
  const public_key* signer = nullptr;
  for (const auto& key : keys)
    if (key.verifies(signature.payload, *raw)) {
      signer = &key;
      break;
    }
  // Nothing in the payload is read before a key vouched for it.
  if (!signer) return errc::signature_invalid;
  auto said = parse_simple_signing(signature.payload);
  if (!said) return said.error();
  if (said->manifest_digest != manifest) return errc::digest_not_covered;
  if (repository && !said->docker_reference.empty() && !reference_names(said->docker_reference, *repository))
    return errc::reference_mismatch;
  return signer->fingerprint();
}

}  // namespace regcache::verify
