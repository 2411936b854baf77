#pragma once
// The RocksDB index of everything cached. RocksDB stays behind
// this interface: no RocksDB type appears here.
//
// Column families and record formats. Integers are big-endian; str(x) is a
// u32 big-endian length followed by the bytes of x, so no character (not even
// '\0') is special in upstream or repository names. Byte 0 of every value is
// its format version, currently 1; any other version reads as corrupt_record.
//
//   family     key                                        value (after the version byte)
//   ─────────  ─────────────────────────────────────────  ─────────────────────────────────────────
//   default    "schema_version"                           (none: the version byte is the schema)
//   blobs      digest text "sha256:<hex>"                 flags u8 (bit 0 pinned) │ size u64 │
//                                                         created_ms i64 │ last_access_ms i64 │
//                                                         media_type (rest of the value)
//   lru        u64(last_access_ms XOR 2^63) │ digest text  empty: a forward scan is eviction order
//   manifests  digest text                                created_ms i64 │ last_access_ms i64 │
//                                                         str(media_type) │ manifest bytes (rest)
//   tags       str(upstream) │ str(repository) │ tag       fetched_at_ms i64 │ str(digest text) │
//                                                         str(media_type) │ etag (rest)
//   links      str(upstream) │ str(repository) │ digest   seen_ms i64
//   pins       str(upstream) │ str(repository) │ ref      str(digest text) │ pinned_at_ms i64 │
//                                                         u32 count │ str(platform)* │
//                                                         [expires_at_ms i64 │ str(label)]
//   scans      digest text                                verdict u8 (0 pass, 1 fail, 2 error) │
//                                                         scanned_ms i64 │ str(image) │ str(summary) │
//                                                         report (rest)
//   tag_lists  str(upstream) │ str(repository)            fetched_ms i64 │ u32 count │ str(tag)*
//   referrers  str(upstream) │ str(repository) │          fetched_ms i64 │ str(filters_applied) │
//              str(subject digest text) │ artifactType    index body (rest)
//   verdicts   digest text │ str(upstream) │ str(repository)  u32 failure (0 = passed) │ checked_ms i64 │
//                                                         str(key_set) │ str(verified_by) │ reason (rest)
//
// A pins row written before pins could expire ends after the platforms; it
// reads as a pin that never expires and has no label.
//
// The sign bit of the lru time is flipped so that byte order is the order of
// signed times. Every blobs row has exactly one lru row, written in the same
// WriteBatch; only blobs take part in LRU eviction (manifests live inside
// RocksDB and are small).
//
// A scans row goes with its manifest's row (remove_manifest deletes both in
// one batch), so the family never holds more rows than manifests.
//
// tag_lists and referrers hold the upstream's last answers (cache::discovery)
// and are bounded (list_limits): a put that takes a family past its row or
// byte bound removes, in the same batch, the rows fetched longest ago (never
// the row it writes; a row larger than the whole byte bound is refused with
// errc::no_space). Nothing else removes them, so nothing leaves while the
// upstream cannot be reached: no answer, no put.
//
// Durability: put_blob, put_manifest, put_pin and remove_pin write with
// sync=true (a pin is an operator's promise, and so is its removal). A blob row is
// written right after its file was fsync'ed into place; losing the row in a
// power cut would cost a full re-hash of the file at the next start, and a lost
// manifest row cannot be refetched while the upstream is down. Everything else
// (tags, links, tag lists, referrers, removals, access times) writes with sync=false: the WAL still
// survives a process crash, and what an OS crash can lose is the last moments of
// data that is relearned from upstream (tags, links, lists), harmless (a removal whose
// file is gone is redone by reconcile) or approximate anyway (access times).
//
// Thread-safety: every member function may be called from any thread. Reads go
// straight to RocksDB. Writes that read a row first (put_blob, remove_blob,
// put_manifest, remove_manifest, flush_access_times, repair) serialise on one
// internal mutex so that an access-time flush can never resurrect a removed row
// or undo a newer put. record_access only touches an in-memory map. The
// bounded families' puts serialise on another mutex guarding their in-memory
// age order (loaded at open by one scan of both families).
//
// Errors: lookups return errc::index_error or errc::corrupt_record (a row that
// does not decode); writes return errc::index_error or errc::no_space.
//
// One process at a time: opening a directory already open elsewhere (or twice
// in this process) fails with errc::index_error.
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::store {

struct blob_record {
  std::uint64_t size = 0;
  std::string media_type;  // empty when unknown (e.g. re-indexed by reconcile)
  std::int64_t created_ms = 0;
  std::int64_t last_access_ms = 0;
  bool pinned = false;

  friend bool operator==(const blob_record&, const blob_record&) = default;
};

struct manifest_record {
  std::string media_type;
  std::string bytes;
  std::int64_t created_ms = 0;
  std::int64_t last_access_ms = 0;

  friend bool operator==(const manifest_record&, const manifest_record&) = default;
};

// An operator's pin (regcache pin IMAGE): the image's top manifest and the
// platforms chosen (empty: all). What it protects is computed from the
// manifests at each eviction pass, so content fetched later is covered too.
// A pin with expires_at_ms lifts itself at the first eviction pass after that
// moment (regcache pin --for); label groups the pins one release set
// (regcache pin --label app=shop, unpin --label).
struct pin_record {
  core::digest digest;
  std::vector<std::string> platforms;
  std::int64_t pinned_at_ms = 0;
  std::int64_t expires_at_ms = 0;  // Unix ms; 0 = never
  std::string label;               // "key=value", or empty

  bool expired(std::int64_t now_ms) const { return expires_at_ms != 0 && expires_at_ms <= now_ms; }

  friend bool operator==(const pin_record&, const pin_record&) = default;
};

// The scan gate's verdict on one manifest (scan/scanner.hpp): what the
// scanner said, when, of which image reference, and where its report is.
enum class scan_verdict : std::uint8_t { pass = 0, fail = 1, error = 2 };

struct scan_record {
  scan_verdict verdict = scan_verdict::error;
  std::int64_t scanned_ms = 0;
  std::string image;    // registry/repository@digest, as the scanner got it
  std::string summary;  // the scanner's first line of output, or why it failed
  std::string report;   // a reference to the scanner's full report (a URL, a path), or empty

  friend bool operator==(const scan_record&, const scan_record&) = default;
};

// The signature gate's verdict on one manifest in one repository
// (trust/signature_gate.hpp): the failure is the gate's own error value, 0
// when the manifest passed; key_set names the rule's keys it was judged with.
struct verdict_record {
  std::uint32_t failure = 0;
  std::int64_t checked_ms = 0;
  std::string key_set;      // "sha256:<hex>" over the rule's keys and checks
  std::string verified_by;  // fingerprint of the key that verified it; empty when it failed
  std::string reason;       // what the check found, for logs and the operator

  friend bool operator==(const verdict_record&, const verdict_record&) = default;
};

struct tag_record {
  core::digest digest;
  std::string media_type;
  std::int64_t fetched_at_ms = 0;
  std::string etag;

  friend bool operator==(const tag_record&, const tag_record&) = default;
};

// The last tag list an upstream gave for a repository.
struct tag_list_record {
  std::vector<std::string> tags;  // as the caller gave them (discovery: sorted, unique)
  std::int64_t fetched_ms = 0;

  friend bool operator==(const tag_list_record&, const tag_list_record&) = default;
};

// The last referrers answer an upstream gave for a subject and artifactType filter.
struct referrers_record {
  std::string body;             // an OCI image index, as the upstream sent it
  std::string filters_applied;  // the upstream's OCI-Filters-Applied
  std::int64_t fetched_ms = 0;

  friend bool operator==(const referrers_record&, const referrers_record&) = default;
};

// How much the bounded families (tag_lists, referrers) keep. A referrers
// index is at most 4 MiB (the upstream read limit) and a tag list of 100 000
// tags a few MiB, so the byte bounds hold many of the largest.
struct list_limits {
  std::size_t tag_list_rows = 4096;
  std::uint64_t tag_list_bytes = 64ull << 20;
  std::size_t referrers_rows = 16384;
  std::uint64_t referrers_bytes = 64ull << 20;
};

class index {
 public:
  // A manifest's access time is rewritten at most this often: the row carries
  // the whole manifest, and minute precision is plenty to order manifests.
  static constexpr std::int64_t manifest_access_granularity_ms = 60'000;

  // Opens or creates the index in `dir`. errc::index_error if RocksDB cannot
  // open it (lock held, corruption), errc::no_space, errc::corrupt_record if it
  // was written with another schema version.
  // `limits` bounds tag_lists and referrers (see above); an index holding more
  // than they allow (opened before with larger ones) sheds the excess at the
  // next put of that family.
  [[nodiscard]] static result<std::unique_ptr<index>> open(std::filesystem::path dir, list_limits limits = {});
  // Flushes pending access times (best effort) and closes RocksDB.
  ~index();
  index(const index&) = delete;
  index& operator=(const index&) = delete;

  [[nodiscard]] result<std::optional<blob_record>> get_blob(const core::digest& d) const;
  // Writes the blobs row and its lru row (removing the previous lru row) in one
  // synced WriteBatch.
  [[nodiscard]] error_code put_blob(const core::digest& d, const blob_record& record);
  // Removes the blobs row and its lru row. errc::not_found if there is no row.
  [[nodiscard]] error_code remove_blob(const core::digest& d);
  // Visits every blob row in digest order; the visitor returns false to stop.
  // errc::corrupt_record on a row that does not decode (see repair()).
  [[nodiscard]] error_code for_each_blob(
      const std::function<bool(const core::digest&, const blob_record&)>& visit) const;
  // Visits blobs least recently used first; the visitor returns false to stop.
  [[nodiscard]] error_code for_each_lru(
      const std::function<bool(std::int64_t last_access_ms, const core::digest&)>& visit) const;

  [[nodiscard]] result<std::optional<manifest_record>> get_manifest(const core::digest& d) const;
  [[nodiscard]] error_code put_manifest(const core::digest& d, const manifest_record& record);
  // Removes the manifests row and its scans row. errc::not_found if there is
  // no manifests row.
  [[nodiscard]] error_code remove_manifest(const core::digest& d);

  // Visits every manifest row in digest order; return false to stop.
  [[nodiscard]] error_code for_each_manifest(
      const std::function<bool(const core::digest&, const manifest_record&)>& visit) const;

  // Pins, keyed like tags by upstream, repository and the reference the
  // operator gave (tag or digest). Written synced: a pin is an operator's
  // promise. put_pin overwrites. remove_pin: errc::not_found if there is no
  // row. for_each_pin visits grouped by upstream then repository; return false
  // to stop; errc::corrupt_record on a row that does not decode.
  [[nodiscard]] error_code put_pin(std::string_view upstream, std::string_view repository,
                                   std::string_view reference, const pin_record& record);
  [[nodiscard]] error_code remove_pin(std::string_view upstream, std::string_view repository,
                                      std::string_view reference);
  [[nodiscard]] result<std::optional<pin_record>> get_pin(std::string_view upstream, std::string_view repository,
                                                          std::string_view reference) const;
  [[nodiscard]] error_code for_each_pin(
      const std::function<bool(std::string_view upstream, std::string_view repository, std::string_view reference,
                               const pin_record&)>& visit) const;

  // Scan verdicts per manifest digest (unsynced: a lost verdict is a rescan).
  [[nodiscard]] result<std::optional<scan_record>> get_scan(const core::digest& d) const;
  // errc::not_found, writing nothing, when the manifest has no row (it left
  // the cache while it was scanned).
  [[nodiscard]] error_code put_scan(const core::digest& d, const scan_record& record);
  // Visits every scans row in digest order; return false to stop.
  [[nodiscard]] error_code for_each_scan(
      const std::function<bool(const core::digest&, const scan_record&)>& visit) const;

  [[nodiscard]] result<std::optional<tag_record>> get_tag(std::string_view upstream,
                                                          std::string_view repository,
                                                          std::string_view tag) const;
  [[nodiscard]] error_code put_tag(std::string_view upstream, std::string_view repository,
                                   std::string_view tag, const tag_record& record);
  // errc::not_found if there is no row.
  [[nodiscard]] error_code remove_tag(std::string_view upstream, std::string_view repository,
                                      std::string_view tag);
  // Tags of exactly this upstream and repository, sorted bytewise ("repo" does
  // not list the tags of "repo2" or "repo/sub").
  [[nodiscard]] result<std::vector<std::string>> list_tags(std::string_view upstream,
                                                           std::string_view repository) const;
  // Visits every tag, grouped by upstream then repository; return false to stop.
  [[nodiscard]] error_code for_each_tag(
      const std::function<bool(std::string_view upstream, std::string_view repository,
                               std::string_view tag, const tag_record&)>& visit) const;

  // The upstream's last tag list for a repository; put_tag_list overwrites
  // and sheds the oldest rows past the bound. get: errc::corrupt_record on a
  // row that does not decode.
  [[nodiscard]] result<std::optional<tag_list_record>> get_tag_list(std::string_view upstream,
                                                                    std::string_view repository) const;
  [[nodiscard]] error_code put_tag_list(std::string_view upstream, std::string_view repository,
                                        const tag_list_record& record);

  // The upstream's last referrers answer for `subject` under the artifactType
  // filter `artifact_type` (empty: unfiltered); as the tag lists above.
  [[nodiscard]] result<std::optional<referrers_record>> get_referrers(std::string_view upstream,
                                                                      std::string_view repository,
                                                                      const core::digest& subject,
                                                                      std::string_view artifact_type) const;
  [[nodiscard]] error_code put_referrers(std::string_view upstream, std::string_view repository,
                                         const core::digest& subject, std::string_view artifact_type,
                                         const referrers_record& record);

  [[nodiscard]] result<bool> has_link(std::string_view upstream, std::string_view repository,
                                      const core::digest& d) const;
  [[nodiscard]] error_code put_link(std::string_view upstream, std::string_view repository,
                                    const core::digest& d, std::int64_t seen_ms);

  // Signature verdicts, keyed by manifest digest first so that a manifest's
  // verdicts in every repository go with it (remove_verdicts). Unsynced: a
  // lost verdict is only checked again.
  [[nodiscard]] result<std::optional<verdict_record>> get_verdict(const core::digest& d, std::string_view upstream,
                                                                  std::string_view repository) const;
  [[nodiscard]] error_code put_verdict(const core::digest& d, std::string_view upstream,
                                       std::string_view repository, const verdict_record& record);
  // Removes every verdict on `d`; the number removed.
  [[nodiscard]] result<std::size_t> remove_verdicts(const core::digest& d);

  // Notes that a blob or manifest was served at now_ms. Never touches RocksDB:
  // a map guarded by its own mutex keeps the latest time per digest until the
  // next flush_access_times().
  void record_access(const core::digest& d, std::int64_t now_ms);
  // Writes the pending access times in one unsynced WriteBatch: moves each
  // blob's lru row and rewrites blobs.last_access_ms, and manifests'
  // last_access_ms when it advanced by manifest_access_granularity_ms. Times
  // never move backwards; digests with no row are dropped. On failure the
  // pending times are kept for the next flush. The server calls this every
  // second.
  [[nodiscard]] error_code flush_access_times();

  // Whether the index still takes writes: RocksDB turns read-only after a
  // background error (a full or failing disk). Writes one unsynced marker
  // row; for the readiness check, every few seconds.
  [[nodiscard]] error_code check_writable();

  struct stats {
    std::uint64_t blob_count = 0;
    std::uint64_t blob_bytes = 0;
    std::uint64_t manifest_count = 0;
    std::uint64_t tag_count = 0;
  };
  // Exact counts by a full scan of blobs, manifests and tags: for the CLI and
  // for metrics at startup, not for every request.
  [[nodiscard]] result<stats> compute_stats() const;

  // Startup repair (used by reconcile()): drops blobs rows whose key is not a
  // digest or whose value does not decode, and makes lru mirror blobs exactly
  // (removes lru rows with no matching blobs row, adds missing ones). Returns
  // the number of blobs rows dropped.
  [[nodiscard]] result<std::size_t> repair();

 private:
  struct impl;
  explicit index(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace regcache::store
