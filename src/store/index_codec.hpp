#pragma once
// The byte formats of the index's rows (the table in index.hpp): record
// values, the lru key and the upstream/repository key prefix. Private to the
// store; every decoder treats its input as untrusted (bytes from disk) and
// fails instead of reading past the end.
#include "regcache/core/digest.hpp"
#include "regcache/store/index.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace regcache::store::codec {

// Byte 0 of every value, and the value of the schema_version row.
inline constexpr char format_version = 1;

std::string encode(const blob_record& r);
std::string encode(const manifest_record& r);
std::string encode(const tag_record& r);
std::string encode(const pin_record& r);
std::string encode(const scan_record& r);
std::string encode(const verdict_record& r);
std::string encode_link(std::int64_t seen_ms);
std::string encode(const tag_list_record& r);
std::string encode(const referrers_record& r);

std::optional<blob_record> decode_blob(std::string_view value);
std::optional<manifest_record> decode_manifest(std::string_view value);
std::optional<tag_record> decode_tag(std::string_view value);
std::optional<pin_record> decode_pin(std::string_view value);
std::optional<scan_record> decode_scan(std::string_view value);
std::optional<tag_list_record> decode_tag_list(std::string_view value);
std::optional<referrers_record> decode_referrers(std::string_view value);
// The fetched_ms both bounded families' values start with.
std::optional<std::int64_t> decode_fetched_ms(std::string_view value);
std::optional<verdict_record> decode_verdict(std::string_view value);

// Keys of verdicts: digest text │ str(upstream) │ str(repository).
std::string verdict_key(const core::digest& d, std::string_view upstream, std::string_view repository);

// Keys of tags, links and pins: str(upstream) │ str(repository) │ name (of
// tag_lists: the prefix alone). The
// length prefixes make the prefix of one repository match no other.
std::string repository_prefix(std::string_view upstream, std::string_view repository);
std::string repository_key(std::string_view upstream, std::string_view repository, std::string_view name);

// Key of referrers: str(upstream) │ str(repository) │ str(subject) │ artifact_type.
std::string referrers_key(std::string_view upstream, std::string_view repository, const core::digest& subject,
                          std::string_view artifact_type);

struct repository_key_parts {
  std::string_view upstream;
  std::string_view repository;
  std::string_view name;
};
std::optional<repository_key_parts> decode_repository_key(std::string_view key);

// u64(last_access_ms XOR 2^63) │ digest text: byte order is time order.
std::string lru_key(std::int64_t last_access_ms, const core::digest& d);

struct lru_entry {
  std::int64_t last_access_ms;
  core::digest digest;
};
std::optional<lru_entry> decode_lru_key(std::string_view key);

}  // namespace regcache::store::codec
