#include "regcache/admin/api_json.hpp"

#include <boost/json/serialize.hpp>

namespace regcache::admin {
namespace json = boost::json;

std::string error_body(std::string_view message) { return json::serialize(json::object{{"error", message}}); }

std::string ndjson_line(const json::object& o) { return json::serialize(o) + "\n"; }

json::object to_json(const cache::eviction_report& r) {
  return {{"usage_before", r.usage_before},
          {"usage_after", r.usage_after},
          {"blobs_evicted", r.blobs_evicted},
          {"blob_bytes_evicted", r.blob_bytes_evicted},
          {"manifests_evicted", r.manifests_evicted},
          {"tags_evicted", r.tags_evicted},
          {"pinned_bytes_kept", r.pinned_bytes_kept},
          {"young_bytes_kept", r.young_bytes_kept},
          {"pins_expired", r.pins_expired},
          {"available_before", r.available_before},
          {"below_min_free", r.below_min_free},
          {"reached_low_watermark", r.reached_low_watermark},
          {"took_ms", r.took.count()}};
}

json::object to_json(const store::fsck_report& r) {
  json::array findings;
  for (const auto& f : r.findings) {
    json::object o{{"problem", store::to_string(f.problem)},
                   {"path", f.path.string()},
                   {"detail", f.detail},
                   {"removed", f.removed}};
    if (f.digest) o["digest"] = f.digest->str();
    findings.push_back(std::move(o));
  }
  return {{"dry_run", r.dry_run},
          {"clean", r.clean()},
          {"rows_checked", r.rows_checked},
          {"files_checked", r.files_checked},
          {"bytes_checked", r.bytes_checked},
          {"files_removed", r.files_removed},
          {"rows_removed", r.rows_removed},
          {"bytes_removed", r.bytes_removed},
          {"findings", std::move(findings)},
          {"took_ms", r.took.count()}};
}

json::object to_json(const store::fsck_progress& p) {
  return {{"bytes_done", p.bytes_done},
          {"bytes_total", p.bytes_total},
          {"files_done", p.files_done},
          {"files_total", p.files_total}};
}

json::object to_json(const image_entry& e) {
  json::array platforms;
  for (const auto& p : e.platforms) platforms.emplace_back(p);
  return {{"image", e.upstream + "/" + e.repository + ":" + e.tag},
          {"upstream", e.upstream},
          {"repository", e.repository},
          {"tag", e.tag},
          {"digest", e.digest},
          {"media_type", e.media_type},
          {"platforms", std::move(platforms)},
          {"cached_bytes", e.cached_bytes},
          {"total_bytes", e.total_bytes},
          {"complete", e.complete},
          {"last_used_ms", e.last_used_ms},
          {"pinned", e.pinned},
          {"pin_expires_at_ms", e.pin_expires_at_ms ? json::value(e.pin_expires_at_ms) : json::value(nullptr)},
          {"pin_label", e.pin_label},
          {"scan", e.scan}};
}

json::object to_json(const repository_entry& e) {
  return {{"upstream", e.upstream},
          {"repository", e.repository},
          {"tags", e.tags},
          {"cached_bytes", e.cached_bytes},
          {"last_used_ms", e.last_used_ms}};
}

json::object pin_json(std::string_view upstream, std::string_view repository, std::string_view reference,
                      const store::pin_record& pin) {
  json::array platforms;
  for (const auto& p : pin.platforms) platforms.emplace_back(p);
  // Tags cannot contain a colon; digests always do.
  const std::string separator = reference.find(':') != std::string_view::npos ? "@" : ":";
  return {{"image", std::string(upstream) + "/" + std::string(repository) + separator + std::string(reference)},
          {"upstream", upstream},
          {"repository", repository},
          {"reference", reference},
          {"digest", pin.digest.str()},
          {"platforms", std::move(platforms)},
          {"pinned_at_ms", pin.pinned_at_ms},
          {"expires_at_ms", pin.expires_at_ms ? json::value(pin.expires_at_ms) : json::value(nullptr)},
          {"label", pin.label}};
}

void add_progress(json::object& o, const cache::prefetch_progress& p) {
  o["blobs_done"] = p.blobs_done;
  o["blobs_total"] = p.blobs_total;
  o["bytes_done"] = p.bytes_done;
  o["bytes_total"] = p.bytes_total;
  o["bytes_fetched"] = p.bytes_fetched;
}

}  // namespace regcache::admin
