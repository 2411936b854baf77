#pragma once
// The signature gate: whether a manifest or blob of a repository may be
// served under the signature policy (policy.hpp).
//
// A manifest D of repository R under a rule that checks (enforce or warn)
// passes when one of its signatures verifies with the rule's keys:
//
//   find     the manifest tagged sha256-<hex>.sig in R (cosign), and the
//            referrers of D with cosign's or notation's artifactType (the
//            referrers API; on a 404 the index tagged sha256-<hex>), all
//            through the caches, so tag revalidation and offline serving
//            apply; signature payloads are read through the blob cache
//   check    verify::check_cosign on each cosign layer and, under a rule with
//            a notation_trust_store, verify::check_notation on each Notary
//            Project envelope (at the injected clock's now); the first that
//            holds passes D. Without a trust store Notary Project signatures
//            are found and named in the verdict, not checked
//   remember the verdict: in the index (`verdicts`, with the rule's key set)
//            and in memory. A pass holds until the key set changes; a
//            failure is checked again once the upstream's tag_ttl passed
//            since, so a signature pushed later is found
//
// An index is judged as a whole: when it passes, the manifests it lists
// pass with it (in memory: after a restart, until the index is served
// again). The config and layers of every manifest that passed may be served
// in an enforce repository; any other blob there is refused. A signature
// artifact itself (every layer a signature, or an index listing only
// signatures) is served without a signature of its own: it holds nothing a
// runtime can run, and verifying clients fetch it.
//
// When the signatures cannot be fetched (upstream unreachable, nothing
// cached), no verdict is stored: errc::signatures_unavailable now, a new
// check at the next request.
//
// Memory: at most max_remembered entries of verdicts and of servable blobs;
// past that both start over (what they held is checked again, from the
// index). Stored verdicts leave the index with their manifest (the gate is
// a removal listener); one in memory may stay, as it still holds for those
// bytes should they come back.
//
// Thread-safety: every member may be called from any thread; the maps are
// guarded by one mutex never held across a co_await.
#include "regcache/cache/blob_cache.hpp"
#include "regcache/cache/context.hpp"
#include "regcache/cache/discovery.hpp"
#include "regcache/cache/manifest_cache.hpp"
#include "regcache/cache/upstream_source.hpp"
#include "regcache/core/digest.hpp"
#include "regcache/core/single_flight.hpp"
#include "regcache/metrics/registry.hpp"
#include "regcache/store/index.hpp"
#include "regcache/store/remover.hpp"
#include "regcache/trust/policy.hpp"

#include <boost/asio/awaitable.hpp>

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace regcache::trust {

class signature_gate : public store::removal_listener {
 public:
  static constexpr std::size_t max_remembered = 200'000;
  // Signature payloads and envelopes read at most (cosign's are a few hundred bytes).
  static constexpr std::uint64_t max_signature_bytes = 1024 * 1024;

  // Registers itself with ctx.remover. The caches must outlive the gate.
  signature_gate(signature_policy policy, cache::context ctx, cache::manifest_cache& manifests,
                 cache::blob_cache& blobs, cache::discovery& discovery);
  signature_gate(const signature_gate&) = delete;
  signature_gate& operator=(const signature_gate&) = delete;

  // Whether any rule checks anything. False: callers skip the gate entirely.
  bool enabled() const noexcept { return policy_.checks_anything(); }
  // Whether a rule checks the repository's manifests.
  bool checks(const cache::upstream_source& source, std::string_view repository) const;

  // The hot path (no coroutine, no index read): true when the manifest may
  // be served on what memory holds (no rule checks the repository, it
  // passed, or it failed under warn and is not due for a new check); false
  // when admit_manifest must decide. Counts what it serves.
  bool admitted_from_memory(const cache::upstream_source& source, std::string_view repository,
                            const core::digest& manifest);

  // Whether manifest `digest` of `repository` may be served: no error, or
  // (enforce) the errc saying why not. `bytes` are the manifest's. Counts
  // and, for a new failing verdict, logs.
  [[nodiscard]] boost::asio::awaitable<error_code> admit_manifest(
      std::shared_ptr<const cache::upstream_source> source, std::string repository, core::digest digest,
      std::shared_ptr<const std::string> bytes);

  // Whether blob `digest` of `repository` may be served: no error, or
  // errc::blob_not_verified in an enforce repository when no manifest that
  // passed there references it.
  [[nodiscard]] error_code admit_blob(const cache::upstream_source& source, std::string_view repository,
                                      const core::digest& digest);

  void blob_removed(const core::digest&, std::uint64_t) override {}
  // Drops the manifest's stored verdicts.
  void manifest_removed(const core::digest& d) override;
  void tag_removed(std::string_view, std::string_view, std::string_view) override {}

 private:
  // A verdict as judged now; `unavailable` when the signatures could not be
  // fetched (nothing to store).
  struct judgement {
    store::verdict_record record;
    bool unavailable = false;
  };
  struct memo {
    std::uint32_t failure = 0;
    std::int64_t checked_ms = 0;
    // Whether the manifest's config and layers are already servable (a
    // child of an index that passed is remembered before its bytes are seen).
    bool blobs_known = false;
  };
  enum class verdict_label { pass, fail, unavailable };

  boost::asio::awaitable<judgement> judge(std::shared_ptr<const cache::upstream_source> source,
                                          std::string repository, core::digest digest, const signature_rule* rule);
  boost::asio::awaitable<judgement> judge_once(std::shared_ptr<const cache::upstream_source> source,
                                               std::string repository, core::digest digest,
                                               const signature_rule* rule);
  boost::asio::awaitable<result<std::string>> read_signature_blob(std::shared_ptr<const cache::upstream_source> source,
                                                                  std::string repository, core::digest digest);

  bool due(const memo& m, const cache::upstream_source& source, std::int64_t now_ms) const;
  // Remembers a pass (and what it makes servable) or a failure.
  void remember(const std::string& key, const store::verdict_record& record, const cache::upstream_source& source,
                std::string_view repository, const std::string* bytes);
  void remember_references(const cache::upstream_source& source, std::string_view repository,
                           const std::string& bytes);
  error_code decide(const signature_rule& rule, std::uint32_t failure);
  void count(const signature_rule& rule, verdict_label label);

  signature_policy policy_;
  cache::context ctx_;
  cache::manifest_cache& manifests_;
  cache::blob_cache& blobs_;
  cache::discovery& discovery_;
  core::single_flight<judgement> flights_{judgement{{}, true}};
  // regcache_signature_verdicts_total{verdict, mode}: [mode enforce|warn][verdict].
  std::array<std::array<metrics::counter*, 3>, 2> verdicts_total_{};

  std::mutex mutex_;
  std::unordered_map<std::string, memo> memos_;         // upstream \0 repository \0 manifest digest
  std::unordered_set<std::string> servable_blobs_;      // upstream \0 repository \0 blob digest
};

}  // namespace regcache::trust
