#include "index_codec.hpp"

#include <vector>

namespace regcache::store::codec {
namespace {

constexpr std::uint64_t lru_sign_bit = std::uint64_t{1} << 63;

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void put_i64(std::string& out, std::int64_t v) { put_u64(out, static_cast<std::uint64_t>(v)); }
void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}
// u32 count │ str(s)*
void put_strings(std::string& out, const std::vector<std::string>& strings) {
  put_u32(out, static_cast<std::uint32_t>(strings.size()));
  for (const auto& s : strings) put_str(out, s);
}

// Bounds-checked reading of the formats; every accessor fails instead of
// reading past the end, because a value from disk is input, not an invariant.
class decoder {
 public:
  explicit decoder(std::string_view data) : data_(data) {}

  bool u8(std::uint8_t& v) {
    if (data_.empty()) return false;
    v = static_cast<std::uint8_t>(data_.front());
    data_.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& v) { return fixed(v, 4); }
  bool u64(std::uint64_t& v) { return fixed(v, 8); }
  bool i64(std::int64_t& v) {
    std::uint64_t u = 0;
    if (!u64(u)) return false;
    v = static_cast<std::int64_t>(u);
    return true;
  }
  bool str(std::string_view& s) {
    std::uint32_t n = 0;
    if (!fixed(n, 4) || data_.size() < n) return false;
    s = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  // u32 count │ str(s)*
  bool strings(std::vector<std::string>& out) {
    std::uint32_t count = 0;
    if (!u32(count)) return false;
    // No reserve(count): the count is read from disk and may be garbage.
    for (std::uint32_t i = 0; i < count; ++i) {
      std::string_view s;
      if (!str(s)) return false;
      out.emplace_back(s);
    }
    return true;
  }
  bool version() {
    std::uint8_t v = 0;
    return u8(v) && v == format_version;
  }
  bool empty() const { return data_.empty(); }
  std::string_view rest() {
    auto r = data_;
    data_ = {};
    return r;
  }

 private:
  template <class T>
  bool fixed(T& v, std::size_t n) {
    if (data_.size() < n) return false;
    v = 0;
    for (std::size_t i = 0; i < n; ++i) v = static_cast<T>((v << 8) | static_cast<std::uint8_t>(data_[i]));
    data_.remove_prefix(n);
    return true;
  }
  std::string_view data_;
};

}  // namespace

std::string encode(const blob_record& r) {
  std::string out;
  out.reserve(26 + r.media_type.size());
  out.push_back(format_version);
  out.push_back(static_cast<char>(r.pinned ? 1 : 0));
  put_u64(out, r.size);
  put_i64(out, r.created_ms);
  put_i64(out, r.last_access_ms);
  out.append(r.media_type);
  return out;
}

std::optional<blob_record> decode_blob(std::string_view value) {
  decoder in(value);
  blob_record r;
  std::uint8_t flags = 0;
  if (!in.version() || !in.u8(flags) || !in.u64(r.size) || !in.i64(r.created_ms) ||
      !in.i64(r.last_access_ms))
    return std::nullopt;
  r.pinned = (flags & 1) != 0;
  r.media_type = in.rest();
  return r;
}

std::string encode(const manifest_record& r) {
  std::string out;
  out.reserve(21 + r.media_type.size() + r.bytes.size());
  out.push_back(format_version);
  put_i64(out, r.created_ms);
  put_i64(out, r.last_access_ms);
  put_str(out, r.media_type);
  out.append(r.bytes);
  return out;
}

std::optional<manifest_record> decode_manifest(std::string_view value) {
  decoder in(value);
  manifest_record r;
  std::string_view media_type;
  if (!in.version() || !in.i64(r.created_ms) || !in.i64(r.last_access_ms) || !in.str(media_type))
    return std::nullopt;
  r.media_type = media_type;
  r.bytes = in.rest();
  return r;
}

std::string encode(const tag_record& r) {
  std::string out;
  out.push_back(format_version);
  put_i64(out, r.fetched_at_ms);
  put_str(out, r.digest.str());
  put_str(out, r.media_type);
  out.append(r.etag);
  return out;
}

std::optional<tag_record> decode_tag(std::string_view value) {
  decoder in(value);
  std::int64_t fetched_at_ms = 0;
  std::string_view digest_text, media_type;
  if (!in.version() || !in.i64(fetched_at_ms) || !in.str(digest_text) || !in.str(media_type))
    return std::nullopt;
  auto d = core::digest::parse(digest_text);
  if (!d) return std::nullopt;
  return tag_record{std::move(*d), std::string(media_type), fetched_at_ms, std::string(in.rest())};
}

std::string encode(const pin_record& r) {
  std::string out;
  out.push_back(format_version);
  put_str(out, r.digest.str());
  put_i64(out, r.pinned_at_ms);
  put_strings(out, r.platforms);
  put_i64(out, r.expires_at_ms);
  put_str(out, r.label);
  return out;
}

std::optional<pin_record> decode_pin(std::string_view value) {
  decoder in(value);
  std::string_view digest_text;
  std::int64_t pinned_at_ms = 0;
  std::vector<std::string> platforms;
  if (!in.version() || !in.str(digest_text) || !in.i64(pinned_at_ms) || !in.strings(platforms)) return std::nullopt;
  auto d = core::digest::parse(digest_text);
  if (!d) return std::nullopt;
  pin_record pin{std::move(*d), std::move(platforms), pinned_at_ms, 0, {}};
  // Rows written before pins could expire end here.
  if (in.empty()) return pin;
  std::string_view label;
  if (!in.i64(pin.expires_at_ms) || !in.str(label) || !in.empty()) return std::nullopt;
  pin.label = label;
  return pin;
}

std::string encode(const scan_record& r) {
  std::string out;
  out.push_back(format_version);
  out.push_back(static_cast<char>(r.verdict));
  put_i64(out, r.scanned_ms);
  put_str(out, r.image);
  put_str(out, r.summary);
  out.append(r.report);
  return out;
}

std::optional<scan_record> decode_scan(std::string_view value) {
  decoder in(value);
  std::uint8_t verdict = 0;
  scan_record r;
  std::string_view image, summary;
  if (!in.version() || !in.u8(verdict) || verdict > static_cast<std::uint8_t>(scan_verdict::error) ||
      !in.i64(r.scanned_ms) || !in.str(image) || !in.str(summary))
    return std::nullopt;
  r.verdict = static_cast<scan_verdict>(verdict);
  r.image = image;
  r.summary = summary;
  r.report = in.rest();
  return r;
}

std::string encode(const verdict_record& r) {
  std::string out;
  out.push_back(format_version);
  put_u32(out, r.failure);
  put_i64(out, r.checked_ms);
  put_str(out, r.key_set);
  put_str(out, r.verified_by);
  out.append(r.reason);
  return out;
}

std::optional<verdict_record> decode_verdict(std::string_view value) {
  decoder in(value);
  verdict_record r;
  std::string_view key_set, verified_by;
  if (!in.version() || !in.u32(r.failure) || !in.i64(r.checked_ms) || !in.str(key_set) || !in.str(verified_by))
    return std::nullopt;
  r.key_set = key_set;
  r.verified_by = verified_by;
  r.reason = in.rest();
  return r;
}

std::string verdict_key(const core::digest& d, std::string_view upstream, std::string_view repository) {
  std::string key = d.str();
  put_str(key, upstream);
  put_str(key, repository);
  return key;
}

std::string encode_link(std::int64_t seen_ms) {
  std::string out;
  out.push_back(format_version);
  put_i64(out, seen_ms);
  return out;
}

std::string encode(const tag_list_record& r) {
  std::string out;
  out.push_back(format_version);
  put_i64(out, r.fetched_ms);
  put_strings(out, r.tags);
  return out;
}

std::optional<tag_list_record> decode_tag_list(std::string_view value) {
  decoder in(value);
  tag_list_record r;
  if (!in.version() || !in.i64(r.fetched_ms) || !in.strings(r.tags) || !in.rest().empty()) return std::nullopt;
  return r;
}

std::string encode(const referrers_record& r) {
  std::string out;
  out.reserve(13 + r.filters_applied.size() + r.body.size());
  out.push_back(format_version);
  put_i64(out, r.fetched_ms);
  put_str(out, r.filters_applied);
  out.append(r.body);
  return out;
}

std::optional<referrers_record> decode_referrers(std::string_view value) {
  decoder in(value);
  referrers_record r;
  std::string_view filters_applied;
  if (!in.version() || !in.i64(r.fetched_ms) || !in.str(filters_applied)) return std::nullopt;
  r.filters_applied = filters_applied;
  r.body = in.rest();
  return r;
}

std::optional<std::int64_t> decode_fetched_ms(std::string_view value) {
  decoder in(value);
  std::int64_t fetched_ms = 0;
  if (!in.version() || !in.i64(fetched_ms)) return std::nullopt;
  return fetched_ms;
}

std::string repository_prefix(std::string_view upstream, std::string_view repository) {
  std::string key;
  key.reserve(8 + upstream.size() + repository.size());
  put_str(key, upstream);
  put_str(key, repository);
  return key;
}

std::string repository_key(std::string_view upstream, std::string_view repository, std::string_view name) {
  auto key = repository_prefix(upstream, repository);
  key.append(name);
  return key;
}

std::string referrers_key(std::string_view upstream, std::string_view repository, const core::digest& subject,
                          std::string_view artifact_type) {
  auto key = repository_prefix(upstream, repository);
  put_str(key, subject.str());
  key.append(artifact_type);
  return key;
}

std::optional<repository_key_parts> decode_repository_key(std::string_view key) {
  decoder in(key);
  repository_key_parts parts;
  if (!in.str(parts.upstream) || !in.str(parts.repository)) return std::nullopt;
  parts.name = in.rest();
  return parts;
}

std::string lru_key(std::int64_t last_access_ms, const core::digest& d) {
  std::string key;
  key.reserve(8 + d.str().size());
  put_u64(key, static_cast<std::uint64_t>(last_access_ms) ^ lru_sign_bit);
  key.append(d.str());
  return key;
}

std::optional<lru_entry> decode_lru_key(std::string_view key) {
  decoder in(key);
  std::uint64_t biased = 0;
  if (!in.u64(biased)) return std::nullopt;
  auto d = core::digest::parse(in.rest());
  if (!d) return std::nullopt;
  return lru_entry{static_cast<std::int64_t>(biased ^ lru_sign_bit), std::move(*d)};
}

}  // namespace regcache::store::codec
