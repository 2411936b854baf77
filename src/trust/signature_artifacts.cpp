#include "regcache/trust/signature_artifacts.hpp"

#include "regcache/oci/errc.hpp"
#include "regcache/oci/manifest.hpp"
#include "regcache/oci/media_type.hpp"
#include "regcache/verify/cosign.hpp"

#include <boost/json/parse.hpp>

namespace regcache::trust {
namespace json = boost::json;

namespace {

std::string_view string_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  const auto* text = value ? value->if_string() : nullptr;
  return text ? std::string_view(*text) : std::string_view{};
}

const json::object* object_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value ? value->if_object() : nullptr;
}

const json::array* array_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value ? value->if_array() : nullptr;
}

bool is_notation_signature(const json::object& manifest) {
  if (string_at(manifest, "artifactType") == verify::notation_artifact_type) return true;
  const auto* config = object_at(manifest, "config");
  return config && string_at(*config, "mediaType") == verify::notation_artifact_type;
}

result<json::object> parse_object(std::string_view bytes) {
  if (bytes.size() > oci::max_manifest_bytes) return oci::errc::manifest_too_large;
  error_code ec;
  auto document = json::parse(bytes, ec);
  if (ec || !document.is_object()) return oci::errc::manifest_invalid;
  return std::move(document.as_object());
}

// The layers of `manifest` with what makes them signature layers; a layer
// that is none has no value. Both parses must agree: oci::parse_manifest
// checks the descriptors, this reads what it does not keep (annotations,
// artifactType).
struct classified {
  std::vector<signature_layer> signatures;
  std::size_t layers = 0;
};

result<classified> classify(std::string_view bytes) {
  auto info = oci::parse_manifest(bytes, oci::oci_manifest);
  if (!info) return info.error();
  if (info->is_index) return oci::errc::manifest_invalid;
  auto document = parse_object(bytes);
  if (!document) return document.error();
  const bool notation = is_notation_signature(*document);
  const auto* layers = array_at(*document, "layers");
  classified out;
  out.layers = info->layers.size();
  for (std::size_t i = 0; i < info->layers.size(); ++i) {
    const auto& layer = info->layers[i];
    const auto media_type = oci::strip_parameters(layer.media_type);
    signature_layer signature{signature_kind::cosign, std::string(media_type), layer.digest, layer.size, {}};
    if (media_type == verify::simple_signing_media_type) {
      const auto* entry = layers && i < layers->size() ? (*layers)[i].if_object() : nullptr;
      const auto* annotations = entry ? object_at(*entry, "annotations") : nullptr;
      if (annotations) signature.cosign_signature = std::string(string_at(*annotations, verify::cosign_signature_annotation));
      out.signatures.push_back(std::move(signature));
    } else if (notation && (media_type == verify::jws_media_type || media_type == verify::cose_media_type)) {
      signature.kind = signature_kind::notation;
      out.signatures.push_back(std::move(signature));
    }
  }
  return out;
}

std::string tag_of(const core::digest& manifest) {
  return std::string(manifest.algorithm_name()) + "-" + manifest.hex();
}

}  // namespace

std::string cosign_signature_tag(const core::digest& manifest) { return tag_of(manifest) + ".sig"; }

std::string referrers_tag(const core::digest& manifest) { return tag_of(manifest); }

result<std::vector<signature_layer>> signature_layers(std::string_view manifest) {
  auto found = classify(manifest);
  if (!found) return found.error();
  return std::move(found->signatures);
}

bool is_signature_artifact(std::string_view manifest) {
  auto info = oci::parse_manifest(manifest, oci::oci_manifest);
  if (!info) return false;
  if (info->is_index) {
    auto referrers = signature_referrers(manifest);
    return referrers && !info->manifests.empty() && referrers->size() == info->manifests.size();
  }
  auto found = classify(manifest);
  return found && found->layers > 0 && found->signatures.size() == found->layers;
}

result<std::vector<referrer>> signature_referrers(std::string_view index) {
  auto document = parse_object(index);
  if (!document) return document.error();
  const auto* manifests = array_at(*document, "manifests");
  if (!manifests) return oci::errc::manifest_invalid;
  std::vector<referrer> out;
  for (const auto& entry : *manifests) {
    const auto* descriptor = entry.if_object();
    if (!descriptor) return oci::errc::manifest_invalid;
    const auto type = string_at(*descriptor, "artifactType");
    if (type != verify::cosign_artifact_type && type != verify::notation_artifact_type) continue;
    auto digest = core::digest::parse(string_at(*descriptor, "digest"));
    if (!digest) return oci::errc::manifest_invalid;
    out.push_back({std::move(*digest), std::string(type)});
  }
  return out;
}

}  // namespace regcache::trust
