#include "regcache/admin/purge.hpp"

#include "regcache/admin/purge_plan.hpp"
#include "regcache/cache/image_closure.hpp"
#include "regcache/oci/manifest.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace regcache::admin {
namespace {

using outcome = boost::system::result<purge_report, purge_failure>;

purge_failure failed(std::string_view what, const error_code& ec) {
  return {purge_failure::kind::failed, std::string(what) + ": " + ec.message()};
}

}  // namespace

outcome purge_image(store::remover& store, std::string_view upstream, std::string_view repository,
                    const oci::reference& reference) {
  const auto& index = store.idx();
  const std::string image =
      std::string(upstream) + "/" + std::string(repository) + (reference.is_digest() ? "@" : ":") + reference.text;

  // The top manifest and the tags that go with it.
  std::vector<std::string> tags_to_remove;
  std::optional<core::digest> top;
  if (reference.is_digest()) {
    top = *reference.digest;
    auto row = index.get_manifest(*top);
    if (!row) return failed("reading the index", row.error());
    if (!*row) return purge_failure{purge_failure::kind::not_cached, image + " is not cached"};
    auto tags = index.list_tags(upstream, repository);
    if (!tags) return failed("reading the index", tags.error());
    for (const auto& t : *tags) {
      auto tag = index.get_tag(upstream, repository, t);
      if (!tag) return failed("reading the index", tag.error());
      if (*tag && (*tag)->digest == *top) tags_to_remove.push_back(t);
    }
  } else {
    auto tag = index.get_tag(upstream, repository, reference.text);
    if (!tag) return failed("reading the index", tag.error());
    if (!*tag) return purge_failure{purge_failure::kind::not_cached, image + " is not cached"};
    top = (*tag)->digest;
    tags_to_remove.push_back(reference.text);
  }

  // Pins keep what they name; pinning this very image refuses the purge.
  std::unordered_set<core::digest> kept_roots;
  std::string pinned_as;
  auto ec = index.for_each_pin(
      [&](std::string_view up, std::string_view repo, std::string_view ref, const store::pin_record& pin) {
        kept_roots.insert(pin.digest);
        if (up == upstream && repo == repository && (ref == reference.text || pin.digest == *top))
          pinned_as = std::string(ref);
        return true;
      });
  if (ec) return failed("reading the pins", ec);
  if (!pinned_as.empty())
    return purge_failure{purge_failure::kind::pinned,
                         image + " is pinned (as " + pinned_as + "): unpin it first with `regcache unpin`"};

  ec = index.for_each_tag(
      [&](std::string_view up, std::string_view repo, std::string_view tag, const store::tag_record& record) {
        const bool going = up == upstream && repo == repository &&
                           std::find(tags_to_remove.begin(), tags_to_remove.end(), tag) != tags_to_remove.end();
        if (!going) kept_roots.insert(record.digest);
        return true;
      });
  if (ec) return failed("reading the tags", ec);

  std::unordered_map<core::digest, std::vector<core::digest>> references;
  ec = index.for_each_manifest([&](const core::digest& d, const store::manifest_record& m) {
    auto info = oci::parse_manifest(m.bytes, m.media_type);
    if (info)
      references.emplace(d, info->referenced());
    else
      spdlog::warn("purge: stored manifest {} does not parse ({}); treated as referencing nothing", d.str(),
                   info.error().message());
    return true;
  });
  if (ec) return failed("reading the manifests", ec);

  auto closure = cache::closure_of(index, *top);
  if (!closure) return failed("walking " + image, closure.error());
  std::vector<core::digest> closure_blobs;
  for (const auto& b : closure->blobs) closure_blobs.push_back(b.digest);
  const auto plan = plan_purge(closure->manifests, closure_blobs, references, kept_roots);

  // Tags first, then manifests, then blobs: whatever a crash leaves behind is
  // content nothing names, which eviction removes in time.
  purge_report report{top->str()};
  for (const auto& t : tags_to_remove) {
    auto went = store.remove_tag(upstream, repository, t);
    if (!went) return failed("removing tag " + t, went.error());
    if (*went) ++report.tags_removed;
  }
  for (const auto& m : plan.manifests) {
    auto went = store.remove_manifest(m);
    if (!went) return failed("removing manifest " + m.str(), went.error());
    if (*went) ++report.manifests_removed;
  }
  for (const auto& b : plan.blobs) {
    // A file without a row may be a download committing right now: leave it.
    auto row = index.get_blob(b);
    if (!row) return failed("reading the index", row.error());
    if (!*row) continue;  // never cached, or evicted meanwhile
    auto went = store.remove_blob(b);
    if (!went) return failed("removing blob " + b.str(), went.error());
    if (went->file_error) return failed("removing the file of " + b.str(), went->file_error);
    if (!went->row_size) continue;  // evicted meanwhile
    ++report.blobs_removed;
    report.bytes_removed += *went->row_size;
  }
  return report;
}

}  // namespace regcache::admin
