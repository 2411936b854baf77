#pragma once
// Manifest media types and Accept-header negotiation.
// Pure functions, thread-safe.
#include <span>
#include <string_view>

namespace regcache::oci {

inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_schema1_signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view docker_schema1 = "application/vnd.docker.distribution.manifest.v1+json";

// OCI index or Docker manifest list; parameters and letter case are ignored.
[[nodiscard]] bool is_index_media_type(std::string_view media_type) noexcept;

// Docker schema 1, signed or not; parameters and letter case are ignored.
[[nodiscard]] bool is_schema1_media_type(std::string_view media_type) noexcept;

// The Accept value sent upstream for manifests: what containerd sends, the
// four modern manifest types and "*/*".
[[nodiscard]] std::string_view manifest_accept_header() noexcept;

// "application/json; charset=utf-8 " → "application/json". The result views
// into the argument.
[[nodiscard]] std::string_view strip_parameters(std::string_view media_type) noexcept;

// Whether a client sending these Accept header values (one element per header
// line, each a comma list with optional parameters) accepts `media_type`.
// No header, or only empty ones, accepts everything. Types compare
// case-insensitively; "*/*" and "<type>/*" are wildcards. q-values are ignored
// except q=0, which makes a range unacceptable; as in RFC 9110 §12.5.1 the
// most specific range matching the type decides. Quoted parameter values may
// contain ',' and ';'. Linear in the total header length.
[[nodiscard]] bool accepts(std::span<const std::string_view> accept_header_values,
                           std::string_view media_type) noexcept;

}  // namespace regcache::oci
