#pragma once
// Certificates for TLS tests, made in memory with OpenSSL and written as PEM
// files: a CA, and leaves it (or another CA) signs, valid or expired.
//
//   test_ca ca("test CA");
//   auto server = ca.issue("localhost", {"DNS:localhost"});
//   server.write(dir / "tls.crt", dir / "tls.key");
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "unit/core/temp_dir.hpp"

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace regcache::tls::testing {

using key_ptr = std::shared_ptr<EVP_PKEY>;
using cert_ptr = std::shared_ptr<X509>;

struct key_and_cert {
  key_ptr key;
  cert_ptr cert;

  // PEM files; the certificate file holds the leaf, then `chain`.
  void write(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
             const std::vector<cert_ptr>& chain = {}) const {
    std::unique_ptr<FILE, decltype(&std::fclose)> c(std::fopen(cert_file.c_str(), "w"), std::fclose);
    std::unique_ptr<FILE, decltype(&std::fclose)> k(std::fopen(key_file.c_str(), "w"), std::fclose);
    if (!c || !k) throw std::runtime_error("cannot write " + cert_file.string());
    PEM_write_X509(c.get(), cert.get());
    for (const auto& extra : chain) PEM_write_X509(c.get(), extra.get());
    PEM_write_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  }
  void write_cert(const std::filesystem::path& cert_file) const {
    std::unique_ptr<FILE, decltype(&std::fclose)> c(std::fopen(cert_file.c_str(), "w"), std::fclose);
    PEM_write_X509(c.get(), cert.get());
  }
};

inline key_ptr make_key() { return key_ptr(EVP_EC_gen("P-256"), EVP_PKEY_free); }

inline void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer` (itself when null),
// valid from `from_days` to `to_days` days from now.
inline cert_ptr make_cert(const std::string& cn, const key_ptr& key, const key_and_cert* issuer, bool is_ca,
                          const std::vector<std::string>& sans, long from_days = -1, long to_days = 30) {
  static long serial = 1;
  cert_ptr cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), to_days * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert));
  add_extension(cert.get(), issuer_cert, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (is_ca) add_extension(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (!sans.empty()) {
    std::string list;
    for (const auto& san : sans) list += (list.empty() ? "" : ",") + san;
    add_extension(cert.get(), issuer_cert, NID_subject_alt_name, list);
  }
  X509_sign(cert.get(), issuer ? issuer->key.get() : key.get(), EVP_sha256());
  return cert;
}

class test_ca : public key_and_cert {
 public:
  explicit test_ca(const std::string& cn) {
    key = make_key();
    cert = make_cert(cn, key, nullptr, true, {});
  }
  // A leaf signed by this CA, e.g. issue("localhost", {"DNS:localhost", "IP:127.0.0.1"}).
  key_and_cert issue(const std::string& cn, const std::vector<std::string>& sans = {}, long from_days = -1,
                     long to_days = 30) const {
    key_and_cert leaf;
    leaf.key = make_key();
    leaf.cert = make_cert(cn, leaf.key, this, false, sans, from_days, to_days);
    return leaf;
  }
};

using regcache::testing::temp_dir;

}  // namespace regcache::tls::testing
