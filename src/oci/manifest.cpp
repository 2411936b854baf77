#include "regcache/oci/manifest.hpp"

#include "regcache/oci/errc.hpp"
#include "regcache/oci/media_type.hpp"

#include <boost/json.hpp>

namespace regcache::oci {
namespace {

namespace json = boost::json;

// Manifests are shallow (annotations are the deepest part); a tighter depth
// than Boost.JSON's default keeps hostile nesting cheap.
constexpr std::size_t max_json_depth = 16;

// Absent and null both mean "not given"; anything else must be a string.
result<std::string> optional_string(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return std::string{};
  const auto* s = v->if_string();
  if (s == nullptr) return errc::manifest_invalid;
  return std::string(s->data(), s->size());
}

result<std::uint64_t> descriptor_size(const json::value& v) {
  if (const auto* u = v.if_uint64()) return *u;
  if (const auto* i = v.if_int64(); i != nullptr && *i >= 0) return static_cast<std::uint64_t>(*i);
  return errc::manifest_invalid;
}

result<descriptor> parse_descriptor(const json::value& v) {
  const auto* obj = v.if_object();
  if (obj == nullptr) return errc::manifest_invalid;
  auto media_type = optional_string(*obj, "mediaType");
  if (!media_type) return media_type.error();

  const auto* digest_value = obj->if_contains("digest");
  const auto* digest_text = digest_value == nullptr ? nullptr : digest_value->if_string();
  if (digest_text == nullptr) return errc::manifest_invalid;
  auto digest = core::digest::parse(std::string_view(digest_text->data(), digest_text->size()));
  if (!digest) return errc::manifest_invalid;

  const auto* size_value = obj->if_contains("size");
  if (size_value == nullptr) return errc::manifest_invalid;
  auto size = descriptor_size(*size_value);
  if (!size) return size.error();

  descriptor d{std::move(*media_type), std::move(*digest), *size, std::nullopt};
  if (const auto* p = obj->if_contains("platform"); p != nullptr && !p->is_null()) {
    const auto* pobj = p->if_object();
    if (pobj == nullptr) return errc::manifest_invalid;
    auto os = optional_string(*pobj, "os");
    auto arch = optional_string(*pobj, "architecture");
    auto variant = optional_string(*pobj, "variant");
    if (!os || !arch || !variant) return errc::manifest_invalid;
    d.platform = platform{std::move(*os), std::move(*arch), std::move(*variant)};
  }
  return d;
}

// The array under `key`, or nullptr when absent or null.
result<const json::array*> optional_array(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  const auto* a = v->if_array();
  if (a == nullptr) return errc::manifest_invalid;
  return a;
}

result<std::vector<descriptor>> parse_descriptors(const json::array& array) {
  std::vector<descriptor> out;
  out.reserve(array.size());
  for (const auto& v : array) {
    auto d = parse_descriptor(v);
    if (!d) return d.error();
    out.push_back(std::move(*d));
  }
  return out;
}

result<std::optional<descriptor>> optional_descriptor(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<descriptor>{};
  auto d = parse_descriptor(*v);
  if (!d) return d.error();
  return std::optional<descriptor>{std::move(*d)};
}

bool is_schema_version_1(const json::object& obj) {
  const auto* v = obj.if_contains("schemaVersion");
  if (v == nullptr) return false;
  if (const auto* i = v->if_int64()) return *i == 1;
  if (const auto* u = v->if_uint64()) return *u == 1;
  return false;
}

}  // namespace

std::vector<core::digest> manifest_info::referenced() const {
  std::vector<core::digest> out;
  out.reserve((config ? 1 : 0) + layers.size() + manifests.size());
  if (config) out.push_back(config->digest);
  for (const auto& d : layers) out.push_back(d.digest);
  for (const auto& d : manifests) out.push_back(d.digest);
  return out;
}

result<manifest_info> parse_manifest(std::string_view bytes, std::string_view content_type) {
  if (bytes.size() > max_manifest_bytes) return errc::manifest_too_large;

  json::parse_options options;
  options.max_depth = max_json_depth;
  boost::system::error_code ec;
  const json::value doc = json::parse(bytes, ec, {}, options);
  if (ec) return errc::manifest_invalid;
  const auto* obj = doc.if_object();
  if (obj == nullptr) return errc::manifest_invalid;

  manifest_info info;
  auto media_type = optional_string(*obj, "mediaType");
  if (!media_type) return media_type.error();
  info.media_type = media_type->empty() ? std::string(strip_parameters(content_type)) : std::move(*media_type);

  // Schema 1 manifests name their layers in a legacy shape (fsLayers) and
  // are only passed through, never walked.
  if (is_schema1_media_type(info.media_type) || is_schema_version_1(*obj)) return info;

  auto layers = optional_array(*obj, "layers");
  auto manifests = optional_array(*obj, "manifests");
  if (!layers || !manifests) return errc::manifest_invalid;
  info.is_index = is_index_media_type(info.media_type) || (*manifests != nullptr && *layers == nullptr);

  const std::size_t count = (*layers ? (*layers)->size() : 0) + (*manifests ? (*manifests)->size() : 0) +
                            (obj->contains("config") ? 1 : 0) + (obj->contains("subject") ? 1 : 0);
  if (count > max_manifest_descriptors) return errc::manifest_invalid;

  if (*layers) {
    auto parsed = parse_descriptors(**layers);
    if (!parsed) return parsed.error();
    info.layers = std::move(*parsed);
  }
  if (*manifests) {
    auto parsed = parse_descriptors(**manifests);
    if (!parsed) return parsed.error();
    info.manifests = std::move(*parsed);
  }
  auto config = optional_descriptor(*obj, "config");
  if (!config) return config.error();
  info.config = std::move(*config);
  auto subject = optional_descriptor(*obj, "subject");
  if (!subject) return subject.error();
  info.subject = std::move(*subject);

  if (info.is_index ? *manifests == nullptr : !info.config.has_value()) return errc::manifest_invalid;
  return info;
}

}  // namespace regcache::oci
