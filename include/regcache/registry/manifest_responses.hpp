#pragma once
// The 200 answering a cached manifest, prepared once (its fields and their
// HTTP/1.1 bytes: http::prepared_response) and reused for every request the
// manifest cache answers with the same manifest.
//
// An entry belongs to one cache::cached_manifest object, not to a digest or a
// tag: it is used only for the very object it was made from. The cache
// resolves a tag to its manifest first (TTL, revalidation, eviction and
// forgetting all happen there), so a tag that moved or a manifest that left
// the cache finds no entry of its own, and a response is never made for one
// answer and sent for another.
//
// Not thread-safe: one instance per thread (manifest_responses_here()), so the
// hot path takes no lock.
#include "regcache/cache/manifest_cache.hpp"
#include "regcache/http/exchange.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace regcache::registry {

// Docker-Distribution-API-Version, which every answer of the registry API
// carries, and OCI-Namespace when a `?ns=` chose the upstream (not empty).
http::header_fields base_fields(std::string_view oci_namespace);
// Docker-Content-Digest and the ETag made from it.
void add_content_fields(http::header_fields& fields, const core::digest& digest);

class manifest_responses {
 public:
  // Past either bound the entries start over (each is made again on its next use).
  static constexpr std::size_t max_entries = 1024;
  static constexpr std::size_t max_body_bytes = 16 * 1024 * 1024;

  // The 200 answering `manifest` (with OCI-Namespace when `oci_namespace` is
  // not empty): base fields, digest and ETag, Content-Type, the bytes.
  std::shared_ptr<const http::prepared_response> response_for(
      const std::shared_ptr<const cache::cached_manifest>& manifest, std::string_view oci_namespace);

  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct entry {
    // Weak: the entry does not keep the object alive, and its control block
    // (the identity compared) cannot be reused while the entry exists.
    std::weak_ptr<const cache::cached_manifest> manifest;
    std::shared_ptr<const http::prepared_response> response;
  };
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
  };

  std::unordered_map<std::string, entry, key_hash, std::equal_to<>> entries_;  // digest '\0' namespace
  std::string key_;  // reused: no allocation per lookup
  std::size_t body_bytes_ = 0;
};

// This thread's instance.
manifest_responses& manifest_responses_here();

}  // namespace regcache::registry
