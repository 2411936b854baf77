#include "regcache/cli/admin_address.hpp"

#include "regcache/cli/admin_client.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

namespace regcache::cli {
namespace {

TEST(admin_address, url_flag) {
  auto ep = parse_admin_url("http://127.0.0.1:5001");
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 5001);
  ep = parse_admin_url("http://[::1]:7000/");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.url(), "http://[::1]:7000");
  EXPECT_EQ(parse_admin_url("http://admin.local:80").url(), "http://admin.local:80");
}

TEST(admin_address, bad_urls_are_usage_errors) {
  EXPECT_THROW((void)parse_admin_url("https://x:1"), usage_error);
  EXPECT_THROW((void)parse_admin_url("http://x"), usage_error);
  EXPECT_THROW((void)parse_admin_url("http://x:0"), usage_error);
  EXPECT_THROW((void)parse_admin_url("http://x:70000"), usage_error);
  EXPECT_THROW((void)parse_admin_url("http://x:1/api"), usage_error);
  EXPECT_THROW((void)parse_admin_url("http://[::1"), usage_error);
}

TEST(admin_address, wildcard_listen_means_loopback) {
  EXPECT_EQ(endpoint_from_listen("0.0.0.0:5001").url(), "http://127.0.0.1:5001");
  EXPECT_EQ(endpoint_from_listen("[::]:5001").url(), "http://[::1]:5001");
  EXPECT_EQ(endpoint_from_listen("10.0.0.7:9000").url(), "http://10.0.0.7:9000");
  EXPECT_THROW((void)endpoint_from_listen("nonsense"), usage_error);
}

class settings_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("regcache-cli-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(std::string_view yaml) {
    const auto p = dir_ / "regcache.yaml";
    std::ofstream(p) << yaml;
    return p.string();
  }
  std::filesystem::path dir_;
};

TEST_F(settings_test, admin_listen_and_storage_root_from_the_config) {
  const auto s = read_settings(write("admin:\n  listen: 0.0.0.0:6001\nstorage:\n  root: /var/cache/x\n"));
  EXPECT_EQ(s.admin_listen, "0.0.0.0:6001");
  EXPECT_EQ(s.storage_root, std::filesystem::path("/var/cache/x"));
  EXPECT_EQ(resolve_admin("", s).url(), "http://127.0.0.1:6001");
  EXPECT_EQ(resolve_admin("http://10.1.1.1:1", s).url(), "http://10.1.1.1:1");
}

TEST_F(settings_test, defaults_without_a_file) {
  // The default path is relative to the working directory; run from an empty one.
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  const auto s = read_settings("");
  std::filesystem::current_path(cwd);
  EXPECT_EQ(resolve_admin("", s).url(), "http://127.0.0.1:5001");
  EXPECT_FALSE(s.storage_root.has_value());
}

TEST_F(settings_test, named_file_must_exist_and_parse) {
  EXPECT_THROW((void)read_settings((dir_ / "missing.yaml").string()), usage_error);
  try {
    (void)read_settings(write("admin:\n  listen: [1, 2]\n  bogus: 1\n"));
    FAIL() << "expected a usage_error";
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("configuration error"), std::string::npos);
  }
}

TEST(admin_client, unreachable_server_is_explained) {
  // Port 1 on loopback: nothing listens there.
  const admin_client client(admin_endpoint{"127.0.0.1", 1});
  auto reply = client.request("GET", "/api/v1/stats");
  ASSERT_FALSE(reply.has_value());
  const auto message = client.unreachable_message(reply.error());
  EXPECT_NE(message.find("cannot reach the regcache admin API at http://127.0.0.1:1"), std::string::npos);
  EXPECT_NE(message.find("is `regcache serve` running? (admin.listen)"), std::string::npos);
}

}  // namespace
}  // namespace regcache::cli
