#include "regcache/tls/server_context.hpp"

#include "regcache/metrics/registry.hpp"
#include "unit/tls/test_certificates.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <fstream>
#include <thread>

namespace regcache::tls {
namespace {

using testing::key_and_cert;
using testing::test_ca;

// The subject CN of the certificate a context serves.
std::string served_cn(const std::shared_ptr<boost::asio::ssl::context>& context) {
  X509* leaf = SSL_CTX_get0_certificate(context->native_handle());
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof cn);
  return cn;
}

class server_context_test : public ::testing::Test {
 protected:
  server_context_test() {
    options_.cert_file = dir_.path() / "tls.crt";
    options_.key_file = dir_.path() / "tls.key";
    ca_.issue("first.test").write(options_.cert_file, options_.key_file);
  }

  std::unique_ptr<server_context> make_context() {
    auto loaded = load_credentials(options_);
    EXPECT_TRUE(loaded) << loaded.error();
    return std::make_unique<server_context>(options_, std::move(*loaded), metrics_);
  }
  std::uint64_t reloads(const char* result) {
    return metrics_.get_counter("regcache_tls_reloads_total", "", {{"result", result}}).value();
  }

  testing::temp_dir dir_;
  test_ca ca_{"test CA"};
  server_options options_;
  metrics::registry metrics_;
};

TEST_F(server_context_test, loads_the_pair_and_reports_its_expiry) {
  const auto before = std::chrono::system_clock::now();
  auto loaded = load_credentials(options_);
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(served_cn(loaded->context), "first.test");
  EXPECT_NE(loaded->subject.find("first.test"), std::string::npos);
  // issue() makes leaves valid for 30 days.
  EXPECT_GT(loaded->not_after, before + std::chrono::hours(24 * 29));
  EXPECT_LT(loaded->not_after, before + std::chrono::hours(24 * 31));

  auto context = make_context();
  const auto expiry = metrics_.get_gauge("regcache_tls_certificate_expiry_timestamp_seconds", "").value();
  EXPECT_EQ(expiry, std::chrono::duration_cast<std::chrono::seconds>(loaded->not_after.time_since_epoch()).count());
}

TEST_F(server_context_test, a_missing_file_is_named_with_the_reason) {
  options_.cert_file = dir_.path() / "absent.crt";
  auto loaded = load_credentials(options_);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("cert_file"), std::string::npos) << loaded.error();
  EXPECT_NE(loaded.error().find("absent.crt"), std::string::npos) << loaded.error();
  EXPECT_NE(loaded.error().find("No such file"), std::string::npos) << loaded.error();
}

TEST_F(server_context_test, a_key_of_another_certificate_is_refused) {
  ca_.issue("other.test").write(dir_.path() / "other.crt", options_.key_file);
  auto loaded = load_credentials(options_);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("does not match"), std::string::npos) << loaded.error();
}

TEST_F(server_context_test, a_file_that_is_not_pem_is_refused) {
  std::ofstream(options_.cert_file) << "not a certificate\n";
  auto loaded = load_credentials(options_);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("cert_file"), std::string::npos) << loaded.error();
}

TEST_F(server_context_test, client_auth_needs_a_readable_client_ca_file) {
  options_.client_auth = client_auth::require;
  options_.client_ca_file = dir_.path() / "clients.crt";
  auto loaded = load_credentials(options_);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("client_ca_file"), std::string::npos) << loaded.error();
  ca_.write_cert(options_.client_ca_file);
  EXPECT_TRUE(load_credentials(options_));
}

TEST_F(server_context_test, unchanged_files_are_not_reloaded) {
  auto context = make_context();
  const auto first = context->current();
  EXPECT_EQ(context->check(), server_context::check_outcome::unchanged);
  EXPECT_EQ(context->current(), first);
  EXPECT_EQ(reloads("success") + reloads("failure"), 0u);
}

TEST_F(server_context_test, a_new_pair_replaces_the_old_one_for_new_handshakes) {
  auto context = make_context();
  const auto first = context->current();
  ca_.issue("second.test").write(options_.cert_file, options_.key_file);
  EXPECT_EQ(context->check(), server_context::check_outcome::reloaded);
  EXPECT_EQ(served_cn(context->current()), "second.test");
  // Whoever holds the first context (an open connection) keeps it intact.
  EXPECT_EQ(served_cn(first), "first.test");
  EXPECT_EQ(reloads("success"), 1u);
}

TEST_F(server_context_test, a_bad_new_pair_keeps_the_old_one_until_the_files_are_fixed) {
  auto context = make_context();
  const auto first = context->current();
  // A writer that replaced the certificate but not yet the key.
  const auto next = ca_.issue("second.test");
  next.write_cert(options_.cert_file);
  EXPECT_EQ(context->check(), server_context::check_outcome::failed);
  EXPECT_EQ(context->current(), first);
  EXPECT_EQ(reloads("failure"), 1u);
  // Not retried (nor logged again) while the files stay as they are.
  EXPECT_EQ(context->check(), server_context::check_outcome::unchanged);
  EXPECT_EQ(reloads("failure"), 1u);
  next.write(options_.cert_file, options_.key_file);
  EXPECT_EQ(context->check(), server_context::check_outcome::reloaded);
  EXPECT_EQ(served_cn(context->current()), "second.test");
}

// How a Kubernetes Secret volume looks and how cert-manager rotates it:
// tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/, and a rotation
// writes a new timestamped directory and swaps ..data to it.
TEST_F(server_context_test, a_swapped_symlink_of_a_secret_volume_is_seen) {
  const auto volume = dir_.path() / "volume";
  std::filesystem::create_directories(volume / "..2026_01");
  ca_.issue("first.test").write(volume / "..2026_01" / "tls.crt", volume / "..2026_01" / "tls.key");
  std::filesystem::create_directory_symlink("..2026_01", volume / "..data");
  std::filesystem::create_symlink("..data/tls.crt", volume / "tls.crt");
  std::filesystem::create_symlink("..data/tls.key", volume / "tls.key");
  options_.cert_file = volume / "tls.crt";
  options_.key_file = volume / "tls.key";
  auto context = make_context();

  std::filesystem::create_directories(volume / "..2026_02");
  ca_.issue("second.test").write(volume / "..2026_02" / "tls.crt", volume / "..2026_02" / "tls.key");
  std::filesystem::create_directory_symlink("..2026_02", volume / "..data_tmp");
  std::filesystem::rename(volume / "..data_tmp", volume / "..data");
  std::filesystem::remove_all(volume / "..2026_01");

  EXPECT_EQ(context->check(), server_context::check_outcome::reloaded);
  EXPECT_EQ(served_cn(context->current()), "second.test");
}

TEST_F(server_context_test, the_watcher_picks_up_a_rotation_by_itself) {
  auto context = make_context();
  context->watch(std::chrono::milliseconds(10));
  ca_.issue("second.test").write(options_.cert_file, options_.key_file);
  for (int i = 0; i < 500 && served_cn(context->current()) != "second.test"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(served_cn(context->current()), "second.test");
}

}  // namespace
}  // namespace regcache::tls
