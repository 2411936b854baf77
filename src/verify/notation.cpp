#include "regcache/verify/notation.hpp"

#include "regcache/core/base64.hpp"
#include "regcache/core/clock.hpp"
#include "regcache/core/hasher.hpp"
#include "regcache/verify/errc.hpp"

#include <boost/json/parse.hpp>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

namespace regcache::verify {
namespace json = boost::json;
using time_point = std::chrono::system_clock::time_point;

namespace {

constexpr std::string_view signing_scheme_header = "io.cncf.notary.signingScheme";
constexpr std::string_view signing_time_header = "io.cncf.notary.signingTime";
constexpr std::string_view expiry_header = "io.cncf.notary.expiry";
constexpr std::string_view x509_scheme = "notary.x509";
// A chain longer than this is not a code-signing PKI but an attempt to make
// the check expensive.
constexpr std::size_t max_chain_length = 10;

struct x509_free {
  void operator()(X509* certificate) const noexcept { X509_free(certificate); }
};
using certificate = std::shared_ptr<X509>;
// The stack only borrows the chain's certificates.
struct x509_stack_free {
  void operator()(STACK_OF(X509) * stack) const noexcept { sk_X509_free(stack); }
};

// The JWS algorithms the Notary Project allows, each bound to the one key
// the signing certificate must carry (key algorithm and size decide alg).
struct jws_algorithm {
  std::string_view name;
  const EVP_MD* (*digest)();
  int key_type;               // EVP_PKEY_EC or EVP_PKEY_RSA
  std::string_view curve;     // EC group name
  int bits;                   // RSA modulus or EC field size
};
constexpr std::array<jws_algorithm, 6> jws_algorithms{{
    {"ES256", EVP_sha256, EVP_PKEY_EC, "prime256v1", 256},
    {"ES384", EVP_sha384, EVP_PKEY_EC, "secp384r1", 384},
    {"ES512", EVP_sha512, EVP_PKEY_EC, "secp521r1", 521},
    {"PS256", EVP_sha256, EVP_PKEY_RSA, {}, 2048},
    {"PS384", EVP_sha384, EVP_PKEY_RSA, {}, 3072},
    {"PS512", EVP_sha512, EVP_PKEY_RSA, {}, 4096},
}};

struct protected_headers {
  const jws_algorithm* algorithm = nullptr;
  time_point signing_time;
  std::optional<time_point> expiry;
};

// The parts of a flattened JWS JSON envelope.
struct jws_envelope {
  std::string signing_input;  // BASE64URL(protected) '.' BASE64URL(payload), as written
  std::string payload;        // decoded
  std::string signature;      // decoded
  protected_headers headers;
  std::vector<certificate> chain;  // x5c, leaf first
};

const json::string* string_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value ? value->if_string() : nullptr;
}

std::optional<time_point> time_at(const json::object& object, std::string_view key) {
  const auto* text = string_at(object, key);
  if (!text) return std::nullopt;
  return core::parse_rfc3339(std::string_view(*text));
}

result<protected_headers> parse_protected(const json::object& headers) {
  const auto* alg = string_at(headers, "alg");
  if (!alg) return errc::envelope_invalid;
  const auto known = std::find_if(jws_algorithms.begin(), jws_algorithms.end(),
                                  [&](const jws_algorithm& a) { return a.name == std::string_view(*alg); });
  if (known == jws_algorithms.end()) return errc::algorithm_unsupported;
  const auto* cty = string_at(headers, "cty");
  if (!cty) return errc::envelope_invalid;
  if (*cty != notation_payload_media_type) return errc::scheme_unsupported;
  const auto* scheme = string_at(headers, signing_scheme_header);
  if (!scheme) return errc::envelope_invalid;
  // notary.x509.signingAuthority trusts a timestamp authority's time, which
  // needs RFC 3161 countersignatures this check does not read.
  if (*scheme != x509_scheme) return errc::scheme_unsupported;

  // crit must name the signing scheme, and the expiry when there is one;
  // anything else critical (authentic signing time, verification plugins)
  // must be understood to be honoured, so it is refused.
  const auto* crit_value = headers.if_contains("crit");
  const auto* crit = crit_value ? crit_value->if_array() : nullptr;
  if (!crit) return errc::envelope_invalid;
  bool scheme_critical = false;
  bool expiry_critical = false;
  for (const auto& entry : *crit) {
    const auto* name = entry.if_string();
    if (!name) return errc::envelope_invalid;
    if (*name == signing_scheme_header) {
      scheme_critical = true;
    } else if (*name == expiry_header) {
      expiry_critical = true;
    } else if (*name == "alg" || *name == "cty" || *name == "crit") {
      return errc::envelope_invalid;  // registered headers never go in crit (RFC 7515 4.1.11)
    } else {
      return errc::scheme_unsupported;
    }
  }
  if (!scheme_critical) return errc::envelope_invalid;

  protected_headers out;
  out.algorithm = &*known;
  const auto signing_time = time_at(headers, signing_time_header);
  if (!signing_time) return errc::envelope_invalid;
  out.signing_time = *signing_time;
  if (headers.contains(expiry_header)) {
    out.expiry = time_at(headers, expiry_header);
    if (!out.expiry || !expiry_critical) return errc::envelope_invalid;
  } else if (expiry_critical) {
    return errc::envelope_invalid;  // a critical header must be present
  }
  return out;
}

result<certificate> parse_der(std::string_view der) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = bytes + der.size();
  certificate cert(d2i_X509(nullptr, &bytes, static_cast<long>(der.size())), x509_free{});
  // Trailing bytes would be unsigned data riding along with the certificate.
  if (!cert || bytes != end) return errc::envelope_invalid;
  return cert;
}

result<jws_envelope> parse_envelope(std::string_view text) {
  error_code ec;
  const auto document = json::parse(text, ec);
  if (ec || !document.is_object()) return errc::envelope_invalid;
  const auto& top = document.get_object();
  // Flattened serialization, exactly these members: a "signatures" array
  // (general serialization) or anything else is not a Notary Project envelope.
  for (const auto& member : top)
    if (member.key() != "payload" && member.key() != "protected" && member.key() != "header" &&
        member.key() != "signature")
      return errc::envelope_invalid;
  const auto* payload = string_at(top, "payload");
  const auto* protected_b64 = string_at(top, "protected");
  const auto* signature = string_at(top, "signature");
  const auto* header_value = top.if_contains("header");
  const auto* header = header_value ? header_value->if_object() : nullptr;
  if (!payload || !protected_b64 || !signature || !header) return errc::envelope_invalid;

  jws_envelope out;
  auto decoded_payload = core::base64url_decode(std::string_view(*payload));
  auto decoded_protected = core::base64url_decode(std::string_view(*protected_b64));
  auto decoded_signature = core::base64url_decode(std::string_view(*signature));
  if (!decoded_payload || !decoded_protected || !decoded_signature) return errc::envelope_invalid;
  const auto protected_document = json::parse(*decoded_protected, ec);
  if (ec || !protected_document.is_object()) return errc::envelope_invalid;
  auto headers = parse_protected(protected_document.get_object());
  if (!headers) return headers.error();
  out.headers = *headers;

  const auto* x5c_value = header->if_contains("x5c");
  const auto* x5c = x5c_value ? x5c_value->if_array() : nullptr;
  if (!x5c || x5c->empty() || x5c->size() > max_chain_length) return errc::envelope_invalid;
  for (const auto& entry : *x5c) {
    const auto* encoded = entry.if_string();
    const auto der = encoded ? core::base64_decode(std::string_view(*encoded)) : std::nullopt;
    if (!der) return errc::envelope_invalid;
    auto cert = parse_der(*der);
    if (!cert) return cert.error();
    out.chain.push_back(std::move(*cert));
  }

  out.signing_input = std::string(std::string_view(*protected_b64)) + "." + std::string(std::string_view(*payload));
  out.payload = std::move(*decoded_payload);
  out.signature = std::move(*decoded_signature);
  return out;
}

// Whether `key` is exactly the key `algorithm` is for (alg substitution is
// refused: the certificate decides the algorithm, never the header alone).
bool key_fits(EVP_PKEY* key, const jws_algorithm& algorithm) {
  if (EVP_PKEY_get_base_id(key) != algorithm.key_type || EVP_PKEY_get_bits(key) != algorithm.bits) return false;
  if (algorithm.key_type != EVP_PKEY_EC) return true;
  char curve[64] = {};
  std::size_t length = 0;
  return EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &length) == 1 &&
         std::string_view(curve, length) == algorithm.curve;
}

// JWS writes an ECDSA signature as R || S, each as wide as the curve's order
// (RFC 7518 3.4); OpenSSL verifies the DER ECDSA-Sig-Value.
std::optional<std::string> ecdsa_der(std::string_view raw, int bits) {
  const auto width = static_cast<std::size_t>((bits + 7) / 8);
  if (raw.size() != 2 * width) return std::nullopt;
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(bytes, static_cast<int>(width), nullptr);
  BIGNUM* s = BN_bin2bn(bytes + width, static_cast<int>(width), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

bool signature_verifies(EVP_PKEY* key, const jws_algorithm& algorithm, std::string_view message,
                        std::string_view signature) {
  std::string der;
  if (algorithm.key_type == EVP_PKEY_EC) {
    auto converted = ecdsa_der(signature, algorithm.bits);
    if (!converted) return false;
    der = std::move(*converted);
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, algorithm.digest(), nullptr, key) != 1) return false;
  // RSASSA-PSS with MGF1 over the same hash and a salt as long as the hash (RFC 7518 3.5).
  if (algorithm.key_type == EVP_PKEY_RSA &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

bool extension_critical(X509* cert, int nid) {
  const int at = X509_get_ext_by_NID(cert, nid, -1);
  return at >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, at)) == 1;
}

bool weak_signature(X509* cert) {
  int digest = NID_undef;
  if (X509_get_signature_info(cert, &digest, nullptr, nullptr, nullptr) != 1) return true;
  return digest == NID_sha1 || digest == NID_md5 || digest == NID_md5_sha1;
}

// The Notary Project's rules for a signing certificate: keyUsage present,
// critical, digitalSignature and nothing a key-exchange or CA key does; not
// a CA; an extendedKeyUsage, when present, for code signing only.
bool fit_to_sign(X509* leaf) {
  const auto flags = X509_get_extension_flags(leaf);
  if (!(flags & EXFLAG_KUSAGE) || !extension_critical(leaf, NID_key_usage)) return false;
  const auto usage = X509_get_key_usage(leaf);
  constexpr auto forbidden = KU_KEY_ENCIPHERMENT | KU_DATA_ENCIPHERMENT | KU_KEY_AGREEMENT | KU_KEY_CERT_SIGN |
                             KU_CRL_SIGN | KU_ENCIPHER_ONLY | KU_DECIPHER_ONLY;
  if (!(usage & KU_DIGITAL_SIGNATURE) || (usage & forbidden)) return false;
  if ((flags & EXFLAG_BCONS) && (flags & EXFLAG_CA)) return false;
  if (flags & EXFLAG_XKUSAGE) {
    const auto extended = X509_get_extended_key_usage(leaf);
    if (extended & (XKU_SSL_SERVER | XKU_SSL_CLIENT | XKU_SMIME | XKU_TIMESTAMP | XKU_ANYEKU)) return false;
  }
  return true;
}

// A CA of the envelope's chain: critical basicConstraints with cA, critical
// keyUsage with keyCertSign.
bool fit_as_ca(X509* ca) {
  const auto flags = X509_get_extension_flags(ca);
  if (!(flags & EXFLAG_BCONS) || !(flags & EXFLAG_CA) || !extension_critical(ca, NID_basic_constraints)) return false;
  return (flags & EXFLAG_KUSAGE) && extension_critical(ca, NID_key_usage) &&
         (X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
}

// x5c is the exact path leaf → root: each certificate issued and signed by
// the next, the last one self-signed, nothing unrelated in between.
result<void> check_chain_shape(const std::vector<certificate>& chain) {
  for (const auto& cert : chain)
    if (weak_signature(cert.get())) return errc::certificate_invalid;
  if (!fit_to_sign(chain.front().get())) return errc::certificate_invalid;
  for (std::size_t i = 1; i < chain.size(); ++i)
    if (!fit_as_ca(chain[i].get())) return errc::certificate_invalid;
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
    X509* subject = chain[i].get();
    X509* issuer = chain[i + 1].get();
    if (X509_check_issued(issuer, subject) != X509_V_OK || X509_verify(subject, X509_get0_pubkey(issuer)) != 1)
      return errc::certificate_invalid;
  }
  // Self-signed by name and signature (X509_check_issued would also want
  // keyCertSign, which a lone self-signed signing certificate lacks).
  if (X509_self_signed(chain.back().get(), 1) != 1) return errc::certificate_invalid;
  return {};
}

// OpenSSL's path validation from the leaf to a certificate of `store` (one
// of them may be an intermediate: partial chains are anchored there) with
// every certificate's validity checked at `at`.
result<void> check_trust_at(const std::vector<certificate>& chain, const trust_store& store, time_point at) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> anchors(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<STACK_OF(X509), x509_stack_free> untrusted(sk_X509_new_null());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  if (!anchors || !untrusted || !ctx) return errc::certificate_untrusted;
  for (const auto& cert : store.certificates())
    if (X509_STORE_add_cert(anchors.get(), cert.get()) != 1) return errc::certificate_untrusted;
  for (std::size_t i = 1; i < chain.size(); ++i)
    if (sk_X509_push(untrusted.get(), chain[i].get()) <= 0) return errc::certificate_untrusted;
  if (X509_STORE_CTX_init(ctx.get(), anchors.get(), chain.front().get(), untrusted.get()) != 1)
    return errc::certificate_untrusted;
  auto* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(at));
  if (X509_verify_cert(ctx.get()) == 1) return {};
  switch (X509_STORE_CTX_get_error(ctx.get())) {
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CERT_HAS_EXPIRED: return errc::certificate_expired;
    default: return errc::certificate_untrusted;
  }
}

std::string der_fingerprint(X509* cert) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  if (length <= 0) return {};
  const std::string bytes(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return core::hasher::of(bytes).str();
}

}  // namespace

result<trust_store> trust_store::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return errc::trust_store_unreadable;
  ERR_clear_error();
  std::vector<std::shared_ptr<x509_st>> certificates;
  std::string all_der;
  while (X509* read = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificate cert(read, x509_free{});
    unsigned char* der = nullptr;
    const int length = i2d_X509(read, &der);
    if (length <= 0) return errc::trust_store_unreadable;
    all_der.append(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    certificates.push_back(std::move(cert));
  }
  // The loop ends at the end of the text or at a block that is not a
  // certificate; only the former is a trust store.
  const auto reason = ERR_peek_last_error();
  ERR_clear_error();
  if (certificates.empty() ||
      !(ERR_GET_LIB(reason) == ERR_LIB_PEM && ERR_GET_REASON(reason) == PEM_R_NO_START_LINE))
    return errc::trust_store_unreadable;
  return trust_store(std::move(certificates), core::hasher::of(all_der).str());
}

result<trust_store> trust_store::from_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return errc::trust_store_unreadable;
  std::ostringstream content;
  content << in.rdbuf();
  return from_pem(content.str());
}

result<notation_target> parse_notation_payload(std::string_view payload) {
  error_code ec;
  const auto document = json::parse(payload, ec);
  if (ec || !document.is_object()) return errc::payload_invalid;
  const auto* target_value = document.get_object().if_contains("targetArtifact");
  const auto* target = target_value ? target_value->if_object() : nullptr;
  if (!target) return errc::payload_invalid;
  const auto* media_type = string_at(*target, "mediaType");
  const auto* digest_text = string_at(*target, "digest");
  const auto* size = target->if_contains("size");
  if (!media_type || !digest_text || !size) return errc::payload_invalid;
  auto digest = core::digest::parse(std::string_view(*digest_text));
  if (!digest) return errc::payload_invalid;
  std::uint64_t bytes = 0;
  if (const auto* u = size->if_uint64()) bytes = *u;
  else if (const auto* i = size->if_int64(); i && *i >= 0) bytes = static_cast<std::uint64_t>(*i);
  else return errc::payload_invalid;
  return notation_target{std::move(*digest), bytes, std::string(std::string_view(*media_type))};
}

result<std::string> check_notation(std::string_view envelope_media_type, std::string_view envelope,
                                   const core::digest& manifest, const trust_store& store, time_point now,
                                   std::optional<manifest_facts> facts) {
  if (envelope_media_type != jws_media_type) return errc::envelope_unsupported;
  auto parsed = parse_envelope(envelope);
  if (!parsed) return parsed.error();
  const auto& jws = *parsed;
  X509* leaf = jws.chain.front().get();
  EVP_PKEY* leaf_key = X509_get0_pubkey(leaf);
  if (!leaf_key || !key_fits(leaf_key, *jws.headers.algorithm)) return errc::algorithm_unsupported;
  if (auto shape = check_chain_shape(jws.chain); !shape) return shape.error();
  // Valid when it was signed, and (there being no authentic timestamp) still now.
  if (auto trusted = check_trust_at(jws.chain, store, jws.headers.signing_time); !trusted) return trusted.error();
  if (auto trusted = check_trust_at(jws.chain, store, now); !trusted) return trusted.error();
  if (!signature_verifies(leaf_key, *jws.headers.algorithm, jws.signing_input, jws.signature))
    return errc::signature_invalid;

  auto target = parse_notation_payload(jws.payload);
  if (!target) return target.error();
  if (target->digest != manifest) return errc::digest_not_covered;
  if (facts && (target->size != facts->size || target->media_type != facts->media_type)) return errc::target_mismatch;
  if (jws.headers.expiry && *jws.headers.expiry <= now) return errc::signature_expired;
  return der_fingerprint(leaf);
}

}  // namespace regcache::verify
