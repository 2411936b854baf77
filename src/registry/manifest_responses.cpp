#include "regcache/registry/manifest_responses.hpp"

namespace regcache::registry {

http::header_fields base_fields(std::string_view oci_namespace) {
  http::header_fields fields{{"Docker-Distribution-API-Version", "registry/2.0"}};
  if (!oci_namespace.empty()) fields.emplace_back("OCI-Namespace", oci_namespace);
  return fields;
}

void add_content_fields(http::header_fields& fields, const core::digest& digest) {
  fields.emplace_back("Docker-Content-Digest", digest.str());
  fields.emplace_back("ETag", "\"" + digest.str() + "\"");
}

std::shared_ptr<const http::prepared_response> manifest_responses::response_for(
    const std::shared_ptr<const cache::cached_manifest>& manifest, std::string_view oci_namespace) {
  key_.clear();
  key_.append(manifest->digest.str()).append(1, '\0').append(oci_namespace);
  auto it = entries_.find(std::string_view(key_));
  if (it != entries_.end()) {
    const auto& held = it->second.manifest;
    // The same object: same control block (owner), whatever the pointers say.
    if (!held.owner_before(manifest) && !manifest.owner_before(held)) return it->second.response;
    body_bytes_ -= it->second.response->content_length();
    entries_.erase(it);
  }
  if (entries_.size() >= max_entries || body_bytes_ + manifest->bytes->size() > max_body_bytes) {
    entries_.clear();
    body_bytes_ = 0;
  }
  auto fields = base_fields(oci_namespace);
  add_content_fields(fields, manifest->digest);
  fields.emplace_back("Content-Type", manifest->media_type);
  auto response = std::make_shared<const http::prepared_response>(200, std::move(fields), manifest->bytes);
  body_bytes_ += manifest->bytes->size();
  entries_.emplace(key_, entry{manifest, response});
  return response;
}

manifest_responses& manifest_responses_here() {
  thread_local manifest_responses responses;
  return responses;
}

}  // namespace regcache::registry
