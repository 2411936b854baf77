#include "regcache/trust/signature_gate.hpp"

#include "regcache/cache/errc.hpp"
#include "regcache/oci/manifest.hpp"
#include "regcache/oci/media_type.hpp"
#include "regcache/trust/errc.hpp"
#include "regcache/trust/signature_artifacts.hpp"
#include "regcache/verify/cosign.hpp"
#include "regcache/verify/errc.hpp"
#include "regcache/verify/notation.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

namespace regcache::trust {
namespace asio = boost::asio;

namespace {

void build_key(std::string& key, std::string_view upstream, std::string_view repository, std::string_view digest) {
  key.clear();
  key.append(upstream).append(1, '\0').append(repository).append(1, '\0').append(digest);
}

std::string key_of(std::string_view upstream, std::string_view repository, const core::digest& d) {
  std::string key;
  build_key(key, upstream, repository, d.str());
  return key;
}

// How telling a failure is: the verdict names the most telling one found.
int weight(errc e) {
  switch (e) {
    case errc::signature_other_repository: return 5;
    case errc::signature_other_digest: return 4;
    case errc::signature_untrusted: return 3;
    case errc::signature_invalid: return 2;
    case errc::signature_unsupported: return 1;
    case errc::signature_malformed: return 1;
    default: return 0;
  }
}

void keep_most_telling(std::optional<errc>& worst, errc failure) {
  if (!worst || weight(failure) > weight(*worst)) worst = failure;
}

errc failure_of(const error_code& ec) {
  if (ec == verify::errc::digest_not_covered || ec == verify::errc::target_mismatch)
    return errc::signature_other_digest;
  if (ec == verify::errc::reference_mismatch) return errc::signature_other_repository;
  if (ec == verify::errc::signature_invalid) return errc::signature_invalid;
  if (ec == verify::errc::certificate_untrusted || ec == verify::errc::certificate_expired ||
      ec == verify::errc::certificate_invalid || ec == verify::errc::signature_expired)
    return errc::signature_untrusted;
  if (ec == verify::errc::envelope_unsupported || ec == verify::errc::algorithm_unsupported ||
      ec == verify::errc::scheme_unsupported)
    return errc::signature_unsupported;
  return errc::signature_malformed;
}

// One cosign signature layer, its payload read.
result<std::string> check_cosign_layer(std::string payload, const signature_layer& layer, const core::digest& digest,
                                       const signature_rule& rule, std::string_view repository) {
  const verify::cosign_signature signature{std::move(payload), layer.cosign_signature};
  const auto identity = rule.check_identity ? std::optional<std::string_view>(repository) : std::nullopt;
  return verify::check_cosign(signature, digest, rule.cosign_keys, identity);
}

// Whether a cache error means "it does not exist" rather than "cannot be asked now".
bool is_absent(const error_code& ec) { return ec == cache::errc::manifest_unknown; }

}  // namespace

signature_gate::signature_gate(signature_policy policy, cache::context ctx, cache::manifest_cache& manifests,
                               cache::blob_cache& blobs, cache::discovery& discovery)
    : policy_(std::move(policy)), ctx_(std::move(ctx)), manifests_(manifests), blobs_(blobs), discovery_(discovery) {
  ctx_.remover->add_listener(*this);
  static constexpr std::array<const char*, 3> labels{"pass", "fail", "unavailable"};
  for (std::size_t m = 0; m < 2; ++m)
    for (std::size_t v = 0; v < labels.size(); ++v)
      verdicts_total_[m][v] = &ctx_.metrics->registry.get_counter(
          "regcache_signature_verdicts_total",
          "Manifest requests judged by the signature policy, by verdict and the rule's mode",
          {{"verdict", labels[v]}, {"mode", m == 0 ? "enforce" : "warn"}});
}

bool signature_gate::checks(const cache::upstream_source& source, std::string_view repository) const {
  return policy_.rule_for(source.name, repository) != nullptr;
}

void signature_gate::count(const signature_rule& rule, verdict_label label) {
  verdicts_total_[rule.mode == mode::enforce ? 0 : 1][static_cast<std::size_t>(label)]->inc();
}

bool signature_gate::due(const memo& m, const cache::upstream_source& source, std::int64_t now_ms) const {
  return m.failure != 0 && now_ms - m.checked_ms >= source.tag_ttl.count();
}

bool signature_gate::admitted_from_memory(const cache::upstream_source& source, std::string_view repository,
                                          const core::digest& manifest) {
  const auto* rule = policy_.rule_for(source.name, repository);
  if (!rule) return true;
  thread_local std::string key;
  build_key(key, source.name, repository, manifest.str());
  const auto now_ms = core::to_unix_ms(ctx_.clock->now());
  std::uint32_t failure = 0;
  {
    std::lock_guard lock(mutex_);
    const auto it = memos_.find(key);
    if (it == memos_.end() || due(it->second, source, now_ms)) return false;
    failure = it->second.failure;
  }
  if (failure != 0 && rule->mode == mode::enforce) return false;
  count(*rule, failure == 0 ? verdict_label::pass : verdict_label::fail);
  return true;
}

error_code signature_gate::decide(const signature_rule& rule, std::uint32_t failure) {
  count(rule, failure == 0 ? verdict_label::pass : verdict_label::fail);
  if (failure == 0 || rule.mode == mode::warn) return {};
  return static_cast<errc>(failure);
}

asio::awaitable<error_code> signature_gate::admit_manifest(std::shared_ptr<const cache::upstream_source> source,
                                                           std::string repository, core::digest digest,
                                                           std::shared_ptr<const std::string> bytes) {
  const auto* rule = policy_.rule_for(source->name, repository);
  if (!rule) co_return error_code{};
  const auto key = key_of(source->name, repository, digest);
  const auto now_ms = core::to_unix_ms(ctx_.clock->now());
  std::optional<memo> known;
  {
    std::lock_guard lock(mutex_);
    if (auto it = memos_.find(key); it != memos_.end() && !due(it->second, *source, now_ms)) known = it->second;
  }
  if (known) {
    if (known->failure == 0 && !known->blobs_known && bytes) remember_references(*source, repository, *bytes);
    co_return decide(*rule, known->failure);
  }
  if (bytes && is_signature_artifact(*bytes)) {
    store::verdict_record exempt{0, now_ms, rule->key_set, {}, "a signature artifact"};
    remember(key, exempt, *source, repository, bytes.get());
    co_return decide(*rule, 0);
  }
  auto stored = ctx_.index->get_verdict(digest, source->name, repository);
  if (stored && *stored && (*stored)->key_set == rule->key_set &&
      !due(memo{(*stored)->failure, (*stored)->checked_ms}, *source, now_ms)) {
    remember(key, **stored, *source, repository, bytes.get());
    co_return decide(*rule, (*stored)->failure);
  }
  const auto judged = co_await judge(source, repository, digest, rule);
  if (judged.unavailable) {
    spdlog::warn("signature check of {}/{}@{} ({} rule): {}; {}", source->name, repository, digest.str(),
                 mode_name(rule->mode), judged.record.reason,
                 rule->mode == mode::enforce ? "refused for now" : "served (warn)");
    count(*rule, verdict_label::unavailable);
    if (rule->mode == mode::warn) co_return error_code{};
    co_return errc::signatures_unavailable;
  }
  remember(key, judged.record, *source, repository, bytes.get());
  if (judged.record.failure != 0)
    spdlog::warn("signature check of {}/{}@{} failed ({} rule): {}; {}", source->name, repository, digest.str(),
                 mode_name(rule->mode), judged.record.reason,
                 rule->mode == mode::enforce ? "refused" : "served (warn)");
  else
    spdlog::info("signature check of {}/{}@{} passed: {}", source->name, repository, digest.str(),
                 judged.record.reason);
  co_return decide(*rule, judged.record.failure);
}

error_code signature_gate::admit_blob(const cache::upstream_source& source, std::string_view repository,
                                      const core::digest& digest) {
  const auto* rule = policy_.rule_for(source.name, repository);
  if (!rule || rule->mode != mode::enforce || !rule->gate_blobs) return {};
  thread_local std::string key;
  build_key(key, source.name, repository, digest.str());
  std::lock_guard lock(mutex_);
  return servable_blobs_.contains(key) ? error_code{} : error_code(errc::blob_not_verified);
}

void signature_gate::manifest_removed(const core::digest& d) {
  auto removed = ctx_.index->remove_verdicts(d);
  if (!removed) spdlog::warn("dropping the signature verdicts of {} failed: {}", d.str(), removed.error().message());
}

void signature_gate::remember(const std::string& key, const store::verdict_record& record,
                              const cache::upstream_source& source, std::string_view repository,
                              const std::string* bytes) {
  {
    std::lock_guard lock(mutex_);
    if (memos_.size() >= max_remembered || servable_blobs_.size() >= max_remembered) {
      memos_.clear();
      servable_blobs_.clear();
    }
    memos_.insert_or_assign(key, memo{record.failure, record.checked_ms, record.failure == 0 && bytes});
  }
  if (record.failure == 0 && bytes) remember_references(source, repository, *bytes);
}

void signature_gate::remember_references(const cache::upstream_source& source, std::string_view repository,
                                         const std::string& bytes) {
  auto info = oci::parse_manifest(bytes, oci::oci_manifest);
  if (!info) return;
  const auto now_ms = core::to_unix_ms(ctx_.clock->now());
  std::lock_guard lock(mutex_);
  for (const auto& child : info->manifests) {
    auto [it, added] = memos_.try_emplace(key_of(source.name, repository, child.digest), memo{0, now_ms, false});
    if (!added && it->second.failure != 0) it->second = memo{0, now_ms, false};
  }
  if (info->config) servable_blobs_.insert(key_of(source.name, repository, info->config->digest));
  for (const auto& layer : info->layers) servable_blobs_.insert(key_of(source.name, repository, layer.digest));
}

asio::awaitable<signature_gate::judgement> signature_gate::judge(std::shared_ptr<const cache::upstream_source> source,
                                                                 std::string repository, core::digest digest,
                                                                 const signature_rule* rule) {
  auto ticket = flights_.join(key_of(source->name, repository, digest));
  if (!ticket.leader()) co_return co_await ticket.wait();
  auto judged = co_await judge_once(source, repository, digest, rule);
  if (!judged.unavailable) {
    auto ec = ctx_.index->put_verdict(digest, source->name, repository, judged.record);
    ignore_error(ec, "a verdict that was not stored is judged again after a restart");
  }
  ticket.finish(judged);
  co_return judged;
}

asio::awaitable<signature_gate::judgement> signature_gate::judge_once(
    std::shared_ptr<const cache::upstream_source> source, std::string repository, core::digest digest,
    const signature_rule* rule) {
  judgement out;
  out.record.checked_ms = core::to_unix_ms(ctx_.clock->now());
  out.record.key_set = rule->key_set;
  std::vector<signature_layer> layers;
  std::string lookup_failure;

  // cosign's tag.
  const auto cosign_tag = cosign_signature_tag(digest);
  auto tagged = co_await manifests_.by_tag(source, repository, cosign_tag, true);
  if (tagged && tagged->bytes) {
    if (auto found = signature_layers(*tagged->bytes)) layers = std::move(*found);
  } else if (!tagged && !is_absent(tagged.error())) {
    lookup_failure = cosign_tag + ": " + tagged.error().message();
  }

  // Referrers: the API, else the referrers tag schema.
  std::optional<std::string> index_body;
  auto listed = co_await discovery_.referrers(source, repository, digest, std::string());
  if (listed) {
    index_body = std::move(listed->body);
  } else if (is_absent(listed.error())) {
    const auto schema_tag = referrers_tag(digest);
    auto schema = co_await manifests_.by_tag(source, repository, schema_tag, true);
    if (schema && schema->bytes) index_body = *schema->bytes;
    else if (!schema && !is_absent(schema.error())) lookup_failure = schema_tag + ": " + schema.error().message();
  } else {
    lookup_failure = "referrers: " + listed.error().message();
  }
  if (index_body) {
    std::vector<referrer> entries;
    if (auto referrers = signature_referrers(*index_body)) entries = std::move(*referrers);
    for (const auto& entry : entries) {
      auto artifact = co_await manifests_.by_digest(source, repository, entry.manifest, true);
      if (!artifact || !artifact->bytes) {
        if (!artifact && !is_absent(artifact.error()))
          lookup_failure = "referrer " + entry.manifest.str() + ": " + artifact.error().message();
        continue;
      }
      auto found = signature_layers(*artifact->bytes);
      if (found) layers.insert(layers.end(), found->begin(), found->end());
    }
  }

  std::size_t cosign_checked = 0, notation_checked = 0, notation_found = 0;
  std::string notation_failure;
  std::optional<errc> worst;
  for (const auto& layer : layers) {
    const bool notation = layer.kind == signature_kind::notation;
    if (notation && !rule->notation_trust_store) {
      ++notation_found;
      continue;
    }
    ++(notation ? notation_checked : cosign_checked);
    // A COSE envelope is refused for its type: its bytes are not needed.
    std::string blob;
    if (!notation || layer.media_type == verify::jws_media_type) {
      auto read = co_await read_signature_blob(source, repository, layer.blob);
      if (!read) {
        if (read.error() == errc::signature_malformed) keep_most_telling(worst, errc::signature_malformed);
        else lookup_failure = "signature blob " + layer.blob.str() + ": " + read.error().message();
        continue;
      }
      blob = std::move(*read);
    }
    auto verified = notation ? verify::check_notation(layer.media_type, blob, digest, *rule->notation_trust_store,
                                                      ctx_.clock->now())
                             : check_cosign_layer(std::move(blob), layer, digest, *rule, repository);
    if (verified) {
      out.record.verified_by = *verified;
      out.record.reason = (notation ? "Notary Project signature verified, signing certificate "
                                    : "cosign signature verified by key ") +
                          *verified;
      co_return out;
    }
    if (notation) notation_failure = verified.error().message();
    keep_most_telling(worst, failure_of(verified.error()));
  }

  if (!lookup_failure.empty()) {
    out.unavailable = true;
    out.record.reason = "its signatures cannot be fetched (" + lookup_failure + ")";
    co_return out;
  }
  const auto failure = worst.value_or(errc::not_signed);
  out.record.failure = static_cast<std::uint32_t>(failure);
  out.record.reason = make_error_code(failure).message() + " (" + std::to_string(cosign_checked) +
                      " cosign signature(s) checked, looked for as " + cosign_tag + " and as referrers";
  if (notation_checked > 0)
    out.record.reason += "; " + std::to_string(notation_checked) + " Notary Project signature(s) checked, the last: " +
                         notation_failure;
  if (notation_found > 0)
    out.record.reason += "; " + std::to_string(notation_found) +
                         " Notary Project signature(s) found, not checked without a notation_trust_store";
  out.record.reason += ")";
  co_return out;
}

asio::awaitable<result<std::string>> signature_gate::read_signature_blob(
    std::shared_ptr<const cache::upstream_source> source, std::string repository, core::digest digest) {
  auto body = co_await blobs_.open(source, repository, digest);
  if (!body) co_return body.error();
  if (body->size() && *body->size() > max_signature_bytes) co_return errc::signature_malformed;
  std::string out;
  for (;;) {
    const std::uint64_t offset = out.size();
    auto piece = co_await body->read(offset, max_signature_bytes + 1 - offset);
    if (!piece) co_return piece.error();
    const auto length = cache::length_of(*piece);
    if (length == 0) break;
    if (const auto* segment = std::get_if<cache::file_segment>(&*piece)) {
      out.resize(offset + segment->length);
      std::uint64_t done = 0;
      while (done < segment->length) {
        const auto n = ::pread(segment->fd, out.data() + offset + done, segment->length - done,
                               static_cast<off_t>(segment->offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) co_return cache::errc::storage_failed;
        done += static_cast<std::uint64_t>(n);
      }
    } else {
      const auto bytes = std::get<std::span<const std::byte>>(*piece);
      out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    if (out.size() > max_signature_bytes) co_return errc::signature_malformed;
    if (body->size() && out.size() == *body->size()) break;
  }
  co_return out;
}

}  // namespace regcache::trust
