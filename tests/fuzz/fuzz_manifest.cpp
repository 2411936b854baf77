// parse_manifest on arbitrary bytes. The first byte picks the Content-Type.
#include "regcache/oci/manifest.hpp"
#include "regcache/oci/media_type.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace regcache::oci;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::array<std::string_view, 8> content_types{
      oci_manifest, oci_index, docker_manifest, docker_manifest_list, docker_schema1_signed,
      "application/json; charset=utf-8", "text/plain", ""};
  const auto content_type = content_types[data[0] % content_types.size()];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  const auto m = parse_manifest(bytes, content_type);
  if (!m) return 0;
  const auto refs = m->referenced();
  const std::size_t expected = (m->config ? 1 : 0) + m->layers.size() + m->manifests.size();
  if (refs.size() != expected || expected > max_manifest_descriptors) std::abort();
  if (m->config && refs.front() != m->config->digest) std::abort();
  return 0;
}
