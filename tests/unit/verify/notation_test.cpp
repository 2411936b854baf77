#include "regcache/verify/notation.hpp"

#include "regcache/core/base64.hpp"
#include "regcache/core/clock.hpp"
#include "regcache/core/hasher.hpp"
#include "regcache/verify/errc.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <memory>

// A real notation signature (tests/fixtures/notation), and certificates,
// keys and envelopes made in the test with OpenSSL: a root CA, an
// intermediate CA and a code-signing leaf per algorithm, and JWS envelopes
// laid out as notation writes them.
namespace regcache::verify {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using time_point = std::chrono::system_clock::time_point;

struct pkey_free {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using private_key = std::shared_ptr<EVP_PKEY>;
using certificate = std::shared_ptr<X509>;

const time_point now = *core::parse_rfc3339("2026-06-01T00:00:00Z");

private_key ec_key(const char* curve) { return private_key(EVP_EC_gen(curve), pkey_free{}); }
private_key rsa_key(unsigned bits) { return private_key(EVP_RSA_gen(bits), pkey_free{}); }

std::string rfc3339(time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string base64url(std::string_view bytes) {
  auto text = core::base64_encode(bytes);
  for (auto& c : text) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

struct cert_spec {
  std::string name;
  EVP_PKEY* key = nullptr;        // the subject's key
  X509* issuer = nullptr;         // nullptr: self-signed with `key`
  EVP_PKEY* issuer_key = nullptr;
  std::string basic_constraints;  // e.g. "critical,CA:TRUE"; empty: none
  std::string key_usage = "critical,digitalSignature";
  std::string extended_key_usage = "codeSigning";
  time_point not_before = now - 24h * 30;
  time_point not_after = now + 24h * 365;
  const EVP_MD* md = EVP_sha256();
};

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  if (value.empty()) return;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  ASSERT_NE(extension, nullptr) << value;
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

certificate make_certificate(const cert_spec& spec) {
  certificate cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), std::chrono::system_clock::to_time_t(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), std::chrono::system_clock::to_time_t(spec.not_after));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.name.c_str()), -1,
                             -1, 0);
  X509* issuer = spec.issuer ? spec.issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));
  X509_set_pubkey(cert.get(), spec.key);
  add_extension(cert.get(), issuer, NID_basic_constraints, spec.basic_constraints);
  add_extension(cert.get(), issuer, NID_key_usage, spec.key_usage);
  add_extension(cert.get(), issuer, NID_ext_key_usage, spec.extended_key_usage);
  add_extension(cert.get(), issuer, NID_subject_key_identifier, "hash");
  if (spec.issuer) add_extension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  EXPECT_GT(X509_sign(cert.get(), spec.issuer_key ? spec.issuer_key : spec.key, spec.md), 0);
  return cert;
}

cert_spec issued(std::string name, EVP_PKEY* key, X509* issuer = nullptr, EVP_PKEY* issuer_key = nullptr) {
  cert_spec spec;
  spec.name = std::move(name);
  spec.key = key;
  spec.issuer = issuer;
  spec.issuer_key = issuer_key;
  return spec;
}

cert_spec ca_spec(std::string name, EVP_PKEY* key, X509* issuer = nullptr, EVP_PKEY* issuer_key = nullptr) {
  auto spec = issued(std::move(name), key, issuer, issuer_key);
  spec.basic_constraints = "critical,CA:TRUE";
  spec.key_usage = "critical,keyCertSign,cRLSign";
  spec.extended_key_usage.clear();
  return spec;
}

std::string pem_of(std::initializer_list<X509*> certs) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  for (X509* cert : certs) PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

std::string der_of(X509* cert) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

trust_store store_of(std::initializer_list<X509*> certs) { return trust_store::from_pem(pem_of(certs)).value(); }

// A JWS signature with `key` as `alg` would make it: ECDSA as R || S, RSA as
// PSS with a salt as long as the hash.
std::string jws_sign(EVP_PKEY* key, std::string_view alg, std::string_view input) {
  const EVP_MD* md = alg.ends_with("256") ? EVP_sha256() : alg.ends_with("384") ? EVP_sha384() : EVP_sha512();
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key);
  if (alg.starts_with("PS")) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(input.data());
  std::size_t length = 0;
  EVP_DigestSign(ctx.get(), nullptr, &length, bytes, input.size());
  std::string signature(length, '\0');
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes, input.size());
  signature.resize(length);
  if (!alg.starts_with("ES")) return signature;
  const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(length)),
                                                            ECDSA_SIG_free);
  const int width = (EVP_PKEY_get_bits(key) + 7) / 8;
  std::string raw(2 * static_cast<std::size_t>(width), '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()), width);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(raw.data()) + width, width);
  return raw;
}

const std::string manifest_body =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]})";
const core::digest manifest = core::hasher::of(manifest_body);
constexpr std::string_view manifest_type = "application/vnd.oci.image.manifest.v1+json";

json::object payload_naming(const core::digest& digest, std::uint64_t size = manifest_body.size()) {
  return json::object{
      {"targetArtifact", json::object{{"mediaType", manifest_type}, {"digest", digest.str()}, {"size", size}}}};
}

// What an envelope is made of; each test changes one thing.
struct envelope_spec {
  json::object headers;
  std::string payload;
  std::vector<X509*> x5c;
  EVP_PKEY* key = nullptr;  // signs
  std::string sign_as;      // the algorithm the key signs with (headers' alg may say otherwise)
};

std::string seal(const envelope_spec& spec) {
  const auto protected_b64 = base64url(json::serialize(spec.headers));
  const auto payload_b64 = base64url(spec.payload);
  json::array x5c;
  for (X509* cert : spec.x5c) x5c.emplace_back(core::base64_encode(der_of(cert)));
  const auto signature = jws_sign(spec.key, spec.sign_as, protected_b64 + "." + payload_b64);
  return json::serialize(json::object{{"payload", payload_b64},
                                      {"protected", protected_b64},
                                      {"header", json::object{{"x5c", x5c}, {"io.cncf.notary.signingAgent", "test"}}},
                                      {"signature", base64url(signature)}});
}

// One PKI: root → intermediate → leaf with the key `alg` needs.
struct pki {
  private_key root_key = ec_key("P-384");
  certificate root = make_certificate(ca_spec("Test Root", root_key.get()));
  private_key intermediate_key = ec_key("P-256");
  certificate intermediate =
      make_certificate(ca_spec("Test Intermediate", intermediate_key.get(), root.get(), root_key.get()));
  private_key leaf_key;
  certificate leaf;
  std::string alg;

  explicit pki(std::string algorithm, private_key key) : leaf_key(std::move(key)), alg(std::move(algorithm)) {
    leaf = make_certificate(leaf_spec());
  }
  cert_spec leaf_spec() const { return issued("Test Signer", leaf_key.get(), intermediate.get(), intermediate_key.get()); }
  trust_store store() const { return store_of({root.get()}); }

  envelope_spec envelope(const core::digest& digest = manifest) const {
    json::object headers{{"alg", alg},
                         {"cty", notation_payload_media_type},
                         {"io.cncf.notary.signingScheme", "notary.x509"},
                         {"io.cncf.notary.signingTime", rfc3339(now - 1h)},
                         {"crit", json::array{"io.cncf.notary.signingScheme"}}};
    return {std::move(headers), json::serialize(payload_naming(digest)), {leaf.get(), intermediate.get(), root.get()},
            leaf_key.get(), alg};
  }
};

const pki& es256() {
  static const pki instance("ES256", ec_key("P-256"));
  return instance;
}

result<std::string> check(const std::string& envelope, const trust_store& store, time_point at = now) {
  return check_notation(jws_media_type, envelope, manifest, store, at);
}

std::string fingerprint_of(X509* cert) { return core::hasher::of(der_of(cert)).str(); }

const std::filesystem::path fixtures = std::filesystem::path(REGCACHE_SOURCE_DIR) / "tests/fixtures/notation";

std::string read(const std::string& name) {
  std::ifstream in(fixtures / name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(notation, a_real_notation_signature_verifies_under_its_certificate) {
  const auto body = read("manifest.json");
  const auto signed_manifest = core::hasher::of(body);
  ASSERT_EQ(signed_manifest.str(), "sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0");
  const auto store = trust_store::from_file(fixtures / "alpine.pem");
  ASSERT_TRUE(store);
  const auto verdict = check_notation(jws_media_type, read("signature.jws"), signed_manifest, *store, now,
                                      manifest_facts{body.size(), manifest_type});
  ASSERT_TRUE(verdict) << verdict.error().message();
  EXPECT_EQ(*verdict, fingerprint_of(store->certificates().front().get()));
}

TEST(notation, the_real_signature_covers_nothing_else_and_trusts_no_other_root) {
  const auto envelope = read("signature.jws");
  const auto store = trust_store::from_file(fixtures / "alpine.pem").value();
  const auto other = core::hasher::of(read("manifest.json") + "\n");
  EXPECT_EQ(check_notation(jws_media_type, envelope, other, store, now).error(), errc::digest_not_covered);
  EXPECT_EQ(check_notation(jws_media_type, envelope, core::hasher::of(read("manifest.json")), es256().store(), now)
                .error(),
            errc::certificate_untrusted);
  // One changed byte of the signed payload's Base64.
  auto tampered = envelope;
  tampered[tampered.find("\"payload\":\"") + 20] ^= 1;
  EXPECT_EQ(check_notation(jws_media_type, tampered, core::hasher::of(read("manifest.json")), store, now).error(),
            errc::signature_invalid);
}

TEST(notation, every_notary_algorithm_verifies_and_names_the_signing_certificate) {
  const std::vector<std::pair<std::string, private_key>> cases{
      {"ES256", ec_key("P-256")}, {"ES384", ec_key("P-384")}, {"ES512", ec_key("P-521")},
      {"PS256", rsa_key(2048)},   {"PS384", rsa_key(3072)},   {"PS512", rsa_key(4096)}};
  for (const auto& [alg, key] : cases) {
    const pki chain(alg, key);
    const auto verdict = check(seal(chain.envelope()), chain.store());
    ASSERT_TRUE(verdict) << alg << ": " << verdict.error().message();
    EXPECT_EQ(*verdict, fingerprint_of(chain.leaf.get())) << alg;
  }
}

TEST(notation, the_manifest_facts_must_match_the_payload_when_given) {
  const auto envelope = seal(es256().envelope());
  const auto store = es256().store();
  EXPECT_TRUE(check_notation(jws_media_type, envelope, manifest, store, now,
                             manifest_facts{manifest_body.size(), manifest_type}));
  EXPECT_EQ(check_notation(jws_media_type, envelope, manifest, store, now,
                           manifest_facts{manifest_body.size() + 1, manifest_type})
                .error(),
            errc::target_mismatch);
  EXPECT_EQ(check_notation(jws_media_type, envelope, manifest, store, now,
                           manifest_facts{manifest_body.size(), "application/vnd.oci.image.index.v1+json"})
                .error(),
            errc::target_mismatch);
}

TEST(notation, an_intermediate_in_the_trust_store_anchors_and_other_roots_may_sit_beside_it) {
  const auto envelope = seal(es256().envelope());
  EXPECT_TRUE(check(envelope, store_of({es256().intermediate.get()})));
  const pki other("ES256", ec_key("P-256"));
  EXPECT_TRUE(check(envelope, store_of({other.root.get(), es256().root.get()})));
}

TEST(notation, a_chain_to_another_root_is_untrusted) {
  const auto envelope = seal(es256().envelope());
  const pki other("ES256", ec_key("P-256"));
  EXPECT_EQ(check(envelope, other.store()).error(), errc::certificate_untrusted);
  // Same name, other key: the name alone proves nothing.
  const auto impostor_key = ec_key("P-384");
  const auto impostor = make_certificate(ca_spec("Test Root", impostor_key.get()));
  EXPECT_EQ(check(envelope, store_of({impostor.get()})).error(), errc::certificate_untrusted);
  // A store holding only the leaf's sibling chain's leaf does not vouch either.
  EXPECT_EQ(check(envelope, store_of({other.leaf.get()})).error(), errc::certificate_untrusted);
}

TEST(notation, an_expired_leaf_is_refused_even_for_a_signature_made_while_it_was_valid) {
  auto spec = es256().leaf_spec();
  spec.not_before = now - 24h * 10;
  spec.not_after = now - 24h;
  const auto expired = make_certificate(spec);
  auto envelope = es256().envelope();
  envelope.x5c[0] = expired.get();
  envelope.headers["io.cncf.notary.signingTime"] = rfc3339(now - 24h * 2);
  EXPECT_EQ(check(seal(envelope), es256().store()).error(), errc::certificate_expired);
  // The same envelope checked while the leaf was still valid holds.
  EXPECT_TRUE(check(seal(envelope), es256().store(), now - 36h));
}

TEST(notation, a_signing_time_outside_the_certificates_validity_is_refused) {
  auto spec = es256().leaf_spec();
  spec.not_before = now - 24h;
  const auto young = make_certificate(spec);
  auto envelope = es256().envelope();
  envelope.x5c[0] = young.get();
  envelope.headers["io.cncf.notary.signingTime"] = rfc3339(now - 48h);
  EXPECT_EQ(check(seal(envelope), es256().store()).error(), errc::certificate_expired);
  envelope.headers["io.cncf.notary.signingTime"] = rfc3339(now - 1h);
  EXPECT_TRUE(check(seal(envelope), es256().store()));
}

TEST(notation, a_tampered_payload_or_header_breaks_the_signature) {
  const auto store = es256().store();
  auto document = json::parse(seal(es256().envelope())).as_object();
  auto tampered = document;
  tampered["payload"] = base64url(json::serialize(payload_naming(manifest, manifest_body.size() + 1)));
  EXPECT_EQ(check(json::serialize(tampered), store).error(), errc::signature_invalid);
  tampered = document;
  auto headers = es256().envelope().headers;
  headers["io.cncf.notary.signingTime"] = rfc3339(now - 2h);
  tampered["protected"] = base64url(json::serialize(headers));
  EXPECT_EQ(check(json::serialize(tampered), store).error(), errc::signature_invalid);
  tampered = document;
  auto signature = *core::base64url_decode(std::string_view(tampered["signature"].as_string()));
  signature[5] ^= 1;
  tampered["signature"] = base64url(signature);
  EXPECT_EQ(check(json::serialize(tampered), store).error(), errc::signature_invalid);
  tampered["signature"] = base64url(signature.substr(1));
  EXPECT_EQ(check(json::serialize(tampered), store).error(), errc::signature_invalid);
}

TEST(notation, a_signature_of_another_digest_does_not_cover_the_manifest) {
  const auto other = core::hasher::of(manifest_body + " ");
  EXPECT_EQ(check(seal(es256().envelope(other)), es256().store()).error(), errc::digest_not_covered);
}

TEST(notation, algorithms_outside_the_notary_set_or_not_the_keys_own_are_refused) {
  const auto store = es256().store();
  for (const char* alg : {"none", "HS256", "RS256", "EdDSA", "ES256K", "es256", ""}) {
    auto envelope = es256().envelope();
    envelope.headers["alg"] = alg;
    EXPECT_EQ(check(seal(envelope), store).error(), errc::algorithm_unsupported) << alg;
  }
  // ES384 named over a P-256 leaf: algorithm substitution.
  auto envelope = es256().envelope();
  envelope.headers["alg"] = "ES384";
  EXPECT_EQ(check(seal(envelope), store).error(), errc::algorithm_unsupported);
  // An RSA key of a size the Notary Project does not map to an algorithm.
  const pki odd("PS256", rsa_key(2560));
  EXPECT_EQ(check(seal(odd.envelope()), odd.store()).error(), errc::algorithm_unsupported);
  // An EC key on another curve of the same size.
  const pki koblitz("ES256", ec_key("secp256k1"));
  EXPECT_EQ(check(seal(koblitz.envelope()), koblitz.store()).error(), errc::algorithm_unsupported);
}

TEST(notation, cose_and_other_envelope_types_are_refused_by_name) {
  const auto envelope = seal(es256().envelope());
  const auto store = es256().store();
  EXPECT_EQ(check_notation(cose_media_type, envelope, manifest, store, now).error(), errc::envelope_unsupported);
  EXPECT_EQ(check_notation("application/octet-stream", envelope, manifest, store, now).error(),
            errc::envelope_unsupported);
  EXPECT_NE(make_error_code(errc::envelope_unsupported).message().find("COSE"), std::string::npos);
}

TEST(notation, malformed_json_base64_or_certificates_are_invalid_envelopes) {
  const auto store = es256().store();
  const auto good = json::parse(seal(es256().envelope())).as_object();
  EXPECT_EQ(check("", store).error(), errc::envelope_invalid);
  EXPECT_EQ(check("{", store).error(), errc::envelope_invalid);
  EXPECT_EQ(check("[]", store).error(), errc::envelope_invalid);
  const auto with = [&](std::string_view member, json::value value) {
    auto changed = good;
    if (value.is_null()) changed.erase(member);
    else changed[member] = std::move(value);
    return check(json::serialize(changed), store);
  };
  for (const char* member : {"payload", "protected", "signature", "header"})
    EXPECT_EQ(with(member, nullptr).error(), errc::envelope_invalid) << member;
  EXPECT_EQ(with("payload", "not*base64url").error(), errc::envelope_invalid);
  EXPECT_EQ(with("protected", json::string(base64url("{not json"))).error(), errc::envelope_invalid);
  EXPECT_EQ(with("protected", json::string(base64url("[]"))).error(), errc::envelope_invalid);
  EXPECT_EQ(with("signature", 7).error(), errc::envelope_invalid);
  EXPECT_EQ(with("signatures", json::array{}).error(), errc::envelope_invalid);  // general serialization
  EXPECT_EQ(with("header", json::object{}).error(), errc::envelope_invalid);
  EXPECT_EQ(with("header", json::object{{"x5c", json::array{}}}).error(), errc::envelope_invalid);
  EXPECT_EQ(with("header", json::object{{"x5c", json::array{"%%%"}}}).error(), errc::envelope_invalid);
  EXPECT_EQ(with("header", json::object{{"x5c", json::array{core::base64_encode("not DER")}}}).error(),
            errc::envelope_invalid);
  const auto leaf_der = der_of(es256().leaf.get());
  EXPECT_EQ(with("header", json::object{{"x5c", json::array{core::base64_encode(leaf_der + "x")}}}).error(),
            errc::envelope_invalid);
}

TEST(notation, headers_are_checked_before_anything_is_trusted) {
  const auto store = es256().store();
  const auto refused = [&](auto change) {
    auto envelope = es256().envelope();
    change(envelope.headers);
    const auto verdict = check(seal(envelope), store);
    return verdict ? error_code{} : verdict.error();
  };
  EXPECT_EQ(refused([](json::object& h) { h.erase("cty"); }), errc::envelope_invalid);
  EXPECT_EQ(refused([](json::object& h) { h["cty"] = "application/json"; }), errc::scheme_unsupported);
  EXPECT_EQ(refused([](json::object& h) { h.erase("io.cncf.notary.signingScheme"); }), errc::envelope_invalid);
  EXPECT_EQ(refused([](json::object& h) {
              h["io.cncf.notary.signingScheme"] = "notary.x509.signingAuthority";
              h["io.cncf.notary.authenticSigningTime"] = rfc3339(now - 1h);
              h["crit"] = json::array{"io.cncf.notary.signingScheme", "io.cncf.notary.authenticSigningTime"};
            }),
            errc::scheme_unsupported);
  EXPECT_EQ(refused([](json::object& h) { h.erase("crit"); }), errc::envelope_invalid);
  EXPECT_EQ(refused([](json::object& h) { h["crit"] = json::array{}; }), errc::envelope_invalid);
  EXPECT_EQ(refused([](json::object& h) { h["crit"] = "io.cncf.notary.signingScheme"; }), errc::envelope_invalid);
  EXPECT_EQ(refused([](json::object& h) { h["crit"].as_array().emplace_back("alg"); }), errc::envelope_invalid);
  EXPECT_EQ(refused([](json::object& h) {
              h["io.cncf.notary.verificationPlugin"] = "com.example.plugin";
              h["crit"].as_array().emplace_back("io.cncf.notary.verificationPlugin");
            }),
            errc::scheme_unsupported);
  EXPECT_EQ(refused([](json::object& h) { h.erase("io.cncf.notary.signingTime"); }), errc::envelope_invalid);
  EXPECT_EQ(refused([](json::object& h) { h["io.cncf.notary.signingTime"] = "yesterday"; }), errc::envelope_invalid);
  // The expiry is critical when present, and present when critical.
  EXPECT_EQ(refused([](json::object& h) { h["io.cncf.notary.expiry"] = rfc3339(now + 24h); }), errc::envelope_invalid);
  EXPECT_EQ(refused([](json::object& h) { h["crit"].as_array().emplace_back("io.cncf.notary.expiry"); }),
            errc::envelope_invalid);
  // An unknown header that is not critical is ignored (RFC 7515).
  EXPECT_EQ(refused([](json::object& h) { h["x-note"] = "informational"; }), error_code{});
}

TEST(notation, an_expiry_in_the_past_is_refused_and_one_in_the_future_is_not) {
  auto envelope = es256().envelope();
  envelope.headers["crit"].as_array().emplace_back("io.cncf.notary.expiry");
  envelope.headers["io.cncf.notary.expiry"] = rfc3339(now + 24h);
  EXPECT_TRUE(check(seal(envelope), es256().store()));
  envelope.headers["io.cncf.notary.expiry"] = rfc3339(now);
  EXPECT_EQ(check(seal(envelope), es256().store()).error(), errc::signature_expired);
}

TEST(notation, certificates_unfit_for_code_signing_are_refused) {
  const auto store = es256().store();
  const auto leaf_refused = [&](auto change) {
    auto spec = es256().leaf_spec();
    change(spec);
    const auto leaf = make_certificate(spec);
    auto envelope = es256().envelope();
    envelope.x5c[0] = leaf.get();
    const auto verdict = check(seal(envelope), store);
    return verdict ? error_code{} : verdict.error();
  };
  EXPECT_EQ(leaf_refused([](cert_spec&) {}), error_code{});
  EXPECT_EQ(leaf_refused([](cert_spec& s) { s.extended_key_usage.clear(); }), error_code{});
  EXPECT_EQ(leaf_refused([](cert_spec& s) { s.key_usage = "digitalSignature"; }), errc::certificate_invalid);
  EXPECT_EQ(leaf_refused([](cert_spec& s) { s.key_usage.clear(); }), errc::certificate_invalid);
  EXPECT_EQ(leaf_refused([](cert_spec& s) { s.key_usage = "critical,digitalSignature,keyEncipherment"; }),
            errc::certificate_invalid);
  EXPECT_EQ(leaf_refused([](cert_spec& s) { s.basic_constraints = "critical,CA:TRUE"; }), errc::certificate_invalid);
  EXPECT_EQ(leaf_refused([](cert_spec& s) { s.extended_key_usage = "codeSigning,serverAuth"; }),
            errc::certificate_invalid);
  EXPECT_EQ(leaf_refused([](cert_spec& s) { s.md = EVP_sha1(); }), errc::certificate_invalid);
}

TEST(notation, x5c_must_be_the_ordered_path_from_leaf_to_root) {
  const auto store = es256().store();
  const auto& p = es256();
  const pki other("ES256", ec_key("P-256"));
  const auto with_chain = [&](std::vector<X509*> x5c) {
    auto envelope = p.envelope();
    envelope.x5c = std::move(x5c);
    return check(seal(envelope), store);
  };
  EXPECT_EQ(with_chain({p.leaf.get(), p.root.get(), p.intermediate.get()}).error(), errc::certificate_invalid);
  EXPECT_EQ(with_chain({p.leaf.get(), p.intermediate.get()}).error(), errc::certificate_invalid);  // no root
  EXPECT_EQ(with_chain({p.leaf.get(), p.intermediate.get(), other.intermediate.get(), p.root.get()}).error(),
            errc::certificate_invalid);
  EXPECT_EQ(with_chain({p.intermediate.get(), p.leaf.get(), p.root.get()}).error(), errc::certificate_invalid);
  // A CA without critical basicConstraints in the chain.
  auto weak_spec = ca_spec("Loose Intermediate", p.intermediate_key.get(), p.root.get(), p.root_key.get());
  weak_spec.basic_constraints = "CA:TRUE";
  const auto loose = make_certificate(weak_spec);
  auto leaf_spec = p.leaf_spec();
  leaf_spec.issuer = loose.get();
  const auto leaf = make_certificate(leaf_spec);
  EXPECT_EQ(with_chain({leaf.get(), loose.get(), p.root.get()}).error(), errc::certificate_invalid);
}

TEST(notation, a_self_signed_signing_certificate_in_the_store_is_its_own_root) {
  const auto key = ec_key("P-256");
  const auto self = make_certificate(issued("Self Signer", key.get()));
  auto envelope = es256().envelope();
  envelope.x5c = {self.get()};
  envelope.key = key.get();
  EXPECT_TRUE(check(seal(envelope), store_of({self.get()})));
  EXPECT_EQ(check(seal(envelope), es256().store()).error(), errc::certificate_untrusted);
}

TEST(notation_payload, names_a_descriptor_with_media_type_digest_and_size) {
  const auto target = parse_notation_payload(json::serialize(payload_naming(manifest)));
  ASSERT_TRUE(target);
  EXPECT_EQ(target->digest, manifest);
  EXPECT_EQ(target->size, manifest_body.size());
  EXPECT_EQ(target->media_type, manifest_type);
  for (const char* refused :
       {"", "{}", R"({"targetArtifact":[]})", R"({"targetArtifact":{"digest":"sha256:00","size":1,"mediaType":"x"}})",
        R"({"targetArtifact":{"mediaType":"x","size":1}})",
        R"({"targetArtifact":{"mediaType":"x","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}})",
        R"({"targetArtifact":{"mediaType":"x","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":-1}})",
        R"({"targetArtifact":{"mediaType":"x","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":1.5}})"})
    EXPECT_EQ(parse_notation_payload(refused).error(), errc::payload_invalid) << refused;
}

TEST(trust_store, reads_every_certificate_and_fingerprints_the_set) {
  const auto& p = es256();
  const auto one = trust_store::from_pem(pem_of({p.root.get()}));
  const auto two = trust_store::from_pem(pem_of({p.root.get(), p.intermediate.get()}));
  ASSERT_TRUE(one && two);
  EXPECT_EQ(one->certificates().size(), 1u);
  EXPECT_EQ(two->certificates().size(), 2u);
  EXPECT_TRUE(one->fingerprint().starts_with("sha256:"));
  EXPECT_NE(one->fingerprint(), two->fingerprint());
  EXPECT_EQ(one->fingerprint(), trust_store::from_pem(pem_of({p.root.get()}))->fingerprint());
}

TEST(trust_store, text_without_certificates_is_unreadable) {
  EXPECT_EQ(trust_store::from_pem("").error(), errc::trust_store_unreadable);
  EXPECT_EQ(trust_store::from_pem("not a certificate").error(), errc::trust_store_unreadable);
  EXPECT_EQ(trust_store::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").error(),
            errc::trust_store_unreadable);
  EXPECT_EQ(trust_store::from_pem(pem_of({es256().root.get()}) + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .error(),
            errc::trust_store_unreadable);
  EXPECT_EQ(trust_store::from_file("/nonexistent/roots.pem").error(), errc::trust_store_unreadable);
}

TEST(trust_store, reads_a_file) {
  const auto path = std::filesystem::temp_directory_path() / ("regcache-notation-roots-" + std::to_string(::getpid()));
  {
    std::ofstream out(path);
    out << pem_of({es256().root.get()});
  }
  const auto store = trust_store::from_file(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(store);
  EXPECT_TRUE(check(seal(es256().envelope()), *store));
}

}  // namespace
}  // namespace regcache::verify
