#include "regcache/app/app.hpp"

#include "unit/store/test_support.hpp"
#include "unit/tls/test_certificates.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <thread>

namespace regcache::app {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using ::testing::HasSubstr;

// One GET on a connected stream (a socket, or TLS over one).
template <class Stream>
http::response<http::string_body> get_on(Stream& stream, std::string target) {
  http::request<http::string_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "localhost");
  req.set(http::field::connection, "close");
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return res;
}

http::response<http::string_body> get(std::uint16_t port, std::string target) {
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  return get_on(socket, std::move(target));
}

// GET over TLS, trusting `ca_file`.
http::response<http::string_body> get_tls(std::uint16_t port, std::string target, std::string ca_file) {
  asio::io_context ioc;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.load_verify_file(ca_file);
  context.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> stream(ioc, context);
  stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  stream.handshake(asio::ssl::stream_base::client);
  return get_on(stream, std::move(target));
}

class app_test : public ::testing::Test {
 protected:
  app_test() {
    cfg_.server.listen = "127.0.0.1:0";
    cfg_.server.threads = 2;
    cfg_.server.shutdown_grace = std::chrono::seconds(5);
    cfg_.admin.listen = "127.0.0.1:0";
    cfg_.storage.root = dir_.path() / "cache";
    // Never contacted: /v2/ and /readyz are answered by regcache itself.
    config::upstream_config u;
    u.name = "127.0.0.1:9";
    u.url = "http://127.0.0.1:9";
    u.insecure_http = true;
    cfg_.upstreams.push_back(u);
    cfg_.default_upstream = u.name;
    config::validate(cfg_);
  }

  store::testing::temp_dir dir_;
  config::config cfg_;
};

TEST_F(app_test, starts_on_free_ports_answers_and_stops) {
  app running(cfg_);
  ASSERT_TRUE(running.port());
  ASSERT_NE(*running.port(), 0);
  EXPECT_FALSE(running.tls_port());
  ASSERT_TRUE(running.admin_port());
  ASSERT_NE(*running.admin_port(), *running.port());
  auto ran = std::async(std::launch::async, [&running] { running.run(); });

  const auto base = get(*running.port(), "/v2/");
  EXPECT_EQ(base.result_int(), 200);
  EXPECT_EQ(base["Docker-Distribution-API-Version"], "registry/2.0");
  EXPECT_EQ(get(*running.port(), "/readyz").result_int(), 200);
  EXPECT_EQ(get(*running.port(), "/healthz").result_int(), 200);
  const auto exposed = get(*running.port(), "/metrics").body();
  EXPECT_THAT(exposed, HasSubstr("\nregcache_ready 1\n"));
  EXPECT_THAT(exposed, HasSubstr("\nregcache_readiness_changes_total 0\n"));
  const auto stats = get(*running.admin_port(), "/api/v1/stats");
  EXPECT_EQ(stats.result_int(), 200);
  EXPECT_THAT(stats.body(), HasSubstr("\"version\""));

  running.stop();
  ASSERT_EQ(ran.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "run() did not return after stop()";
  ran.get();
  EXPECT_TRUE(std::filesystem::is_directory(cfg_.storage.root / "index"));
}

TEST_F(app_test, stop_before_run_ends_run_at_once) {
  app running(cfg_);
  running.stop();
  auto ran = std::async(std::launch::async, [&running] { running.run(); });
  ASSERT_EQ(ran.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(app_test, no_admin_listener_when_admin_is_disabled) {
  cfg_.admin.enabled = false;
  app running(cfg_);
  EXPECT_FALSE(running.admin_port());
}

TEST_F(app_test, reopens_the_cache_it_left) {
  { app first(cfg_); }
  app second(cfg_);
  EXPECT_NE(second.port().value_or(0), 0);
}

TEST_F(app_test, storage_root_that_is_a_file_is_a_startup_error) {
  std::ofstream(dir_.path() / "file") << "not a directory";
  cfg_.storage.root = dir_.path() / "file";
  try {
    app running(cfg_);
    ADD_FAILURE() << "a file was accepted as storage.root";
  } catch (const startup_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("storage.root " + cfg_.storage.root.string()));
  }
}

TEST_F(app_test, listen_address_in_use_is_a_startup_error_naming_the_key) {
  app first(cfg_);
  cfg_.server.listen = "127.0.0.1:" + std::to_string(*first.port());
  cfg_.storage.root = dir_.path() / "second";
  try {
    app second(cfg_);
    ADD_FAILURE() << "two apps listen on one port";
  } catch (const startup_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("server.listen 127.0.0.1:" + std::to_string(*first.port())));
  }
}

class app_tls_test : public app_test {
 protected:
  app_tls_test() {
    ca_.write_cert(dir_.path() / "ca.crt");
    ca_.issue("localhost", {"DNS:localhost"}).write(dir_.path() / "tls.crt", dir_.path() / "tls.key");
    cfg_.server.tls = {.enabled = true,
                       .listen = "127.0.0.1:0",
                       .cert_file = (dir_.path() / "tls.crt").string(),
                       .key_file = (dir_.path() / "tls.key").string()};
  }
  tls::testing::test_ca ca_{"test CA"};
};

TEST_F(app_tls_test, serves_plain_and_tls_at_once_and_stops_both) {
  config::validate(cfg_);
  app running(cfg_);
  ASSERT_TRUE(running.port());
  ASSERT_TRUE(running.tls_port());
  auto ran = std::async(std::launch::async, [&running] { running.run(); });
  EXPECT_EQ(get(*running.port(), "/v2/").result_int(), 200);
  EXPECT_EQ(get_tls(*running.tls_port(), "/v2/", (dir_.path() / "ca.crt").string()).result_int(), 200);
  running.stop();
  ASSERT_EQ(ran.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "run() did not return after stop()";
}

TEST_F(app_tls_test, serves_only_tls_without_server_listen) {
  cfg_.server.listen.clear();
  config::validate(cfg_);
  app running(cfg_);
  EXPECT_FALSE(running.port());
  ASSERT_TRUE(running.tls_port());
  auto ran = std::async(std::launch::async, [&running] { running.run(); });
  EXPECT_EQ(get_tls(*running.tls_port(), "/readyz", (dir_.path() / "ca.crt").string()).result_int(), 200);
  running.stop();
  ASSERT_EQ(ran.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(app_tls_test, a_pair_that_does_not_load_is_a_configuration_error_naming_the_key) {
  ca_.issue("other").write(dir_.path() / "other.crt", dir_.path() / "tls.key");
  try {
    app running(cfg_);
    ADD_FAILURE() << "a key of another certificate was accepted";
  } catch (const config::config_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("server.tls.key_file " + (dir_.path() / "tls.key").string() + " does not match"));
  }
}

}  // namespace
}  // namespace regcache::app
