// HTTP over TLS through socketpairs: the server's TLS transport (handshake,
// client certificates, files through SSL, plain HTTP on the TLS port, the
// handshake timeout) against a blocking OpenSSL client.
#include "regcache/http/exchange.hpp"
#include "regcache/tls/server_context.hpp"
#include "unit/http/in_memory_session.hpp"
#include "unit/tls/test_certificates.hpp"

#include <boost/asio/ssl/stream.hpp>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <fstream>

namespace regcache::http {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast_http = boost::beast::http;
using testing::in_memory_session;
using tls::testing::test_ca;
using ::testing::HasSubstr;
using verb = boost::beast::http::verb;
using client_stream = ssl::stream<asio::local::stream_protocol::socket>;

// g++ 12: every temporary a co_await uses is a named local first.
asio::awaitable<void> send_text(exchange& ex, std::string body) {
  response_head head{200, {{"Content-Type", "text/plain"}}, std::nullopt};
  auto ec = co_await ex.send(std::move(head), std::move(body));
  ignore_error(ec, "the test client reads what arrived");
}

// /whoami: the verified client certificate as text; /file: the file named
// by X-File, whole, through send_file; /echo: the request body back.
asio::awaitable<void> answer(exchange& ex) {
  if (ex.target() == "/file") {
    const std::string path(ex.header("X-File").value_or(std::string_view()));
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    const auto size = static_cast<std::uint64_t>(::lseek(fd, 0, SEEK_END));
    response_head head{200, {{"Content-Type", "application/octet-stream"}}, size};
    auto ec = co_await ex.send_head(std::move(head));
    if (!ec) ec = co_await ex.send_file(fd, 0, size);
    if (!ec) ec = co_await ex.finish();
    ::close(fd);
    if (ec) ex.abort();
    co_return;
  }
  if (ex.target() == "/echo") {
    auto body = co_await ex.read_body(64);
    std::string answer = body ? "read:" + *body : body.error().message();
    co_await send_text(ex, std::move(answer));
    co_return;
  }
  std::string who = "none";
  if (const auto* cert = ex.peer_certificate()) {
    who = "cn=" + cert->subject_common_name + " sans=";
    for (const auto& san : cert->subject_alt_names) who += san + ",";
  }
  co_await send_text(ex, std::move(who));
}

class tls_connection_test : public ::testing::Test {
 protected:
  tls_connection_test() {
    // As regcache serve does: OpenSSL writes to the socket with write(2), and
    // a client gone mid-answer must be an error code, not the end of the process.
    std::signal(SIGPIPE, SIG_IGN);
    ca_.write_cert(dir_.path() / "ca.crt");
    ca_.issue("localhost", {"DNS:localhost"}).write(dir_.path() / "tls.crt", dir_.path() / "tls.key");
    client_ca_.write_cert(dir_.path() / "clients.crt");
    client_ca_.issue("robot", {"DNS:robot.example", "email:ci@example.com"})
        .write(dir_.path() / "client.crt", dir_.path() / "client.key");
    client_ca_.issue("expired", {}, -10, -1).write(dir_.path() / "expired.crt", dir_.path() / "expired.key");
    stranger_ca_.issue("stranger").write(dir_.path() / "stranger.crt", dir_.path() / "stranger.key");
  }

  // A session whose connections are TLS with client_auth `mode`.
  void start(tls::client_auth mode, server_options server = {}) {
    tls::server_options options;
    options.cert_file = dir_.path() / "tls.crt";
    options.key_file = dir_.path() / "tls.key";
    options.client_auth = mode;
    if (mode != tls::client_auth::none) options.client_ca_file = dir_.path() / "clients.crt";
    auto loaded = tls::load_credentials(options);
    ASSERT_TRUE(loaded) << loaded.error();
    server.tls_context = [context = loaded->context] { return context; };
    session_.emplace(answer, server);
  }

  // A client trusting the server's CA, presenting `client_name`.crt unless empty.
  ssl::context client_context(const std::string& client_name = {}) {
    ssl::context context(ssl::context::tls_client);
    context.load_verify_file((dir_.path() / "ca.crt").string());
    context.set_verify_mode(ssl::verify_peer);
    if (!client_name.empty()) {
      context.use_certificate_chain_file((dir_.path() / (client_name + ".crt")).string());
      context.use_private_key_file((dir_.path() / (client_name + ".key")).string(), ssl::context::pem);
    }
    return context;
  }

  // GET `target` over a fresh TLS connection; the error of whichever step failed.
  boost::system::result<testing::response> get(ssl::context& context, std::string target,
                                               std::vector<std::pair<std::string, std::string>> fields = {},
                                               std::string body = {}) {
    client_stream stream(session_->connect(), context);
    error_code ec;
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) return ec;
    beast_http::request<beast_http::string_body> req(body.empty() ? verb::get : verb::post, target, 11);
    req.set(beast_http::field::host, "localhost");
    for (const auto& [name, value] : fields) req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();
    beast_http::write(stream, req, ec);
    if (ec) return ec;
    beast_http::response_parser<beast_http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    boost::beast::flat_buffer buffer;
    beast_http::read(stream, buffer, parser, ec);
    if (ec) return ec;
    return parser.release();
  }

  tls::testing::temp_dir dir_;
  test_ca ca_{"server CA"};
  test_ca client_ca_{"clients CA"};
  test_ca stranger_ca_{"stranger CA"};
  std::optional<in_memory_session> session_;
};

TEST_F(tls_connection_test, answers_over_tls_without_a_client_certificate) {
  start(tls::client_auth::none);
  auto context = client_context();
  auto res = get(context, "/whoami");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(res->body(), "none");
}

TEST_F(tls_connection_test, keeps_the_connection_alive_across_requests) {
  start(tls::client_auth::none);
  auto context = client_context();
  client_stream stream(session_->connect(), context);
  stream.handshake(ssl::stream_base::client);
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    beast_http::request<beast_http::string_body> req(verb::get, "/whoami", 11);
    req.set(beast_http::field::host, "localhost");
    beast_http::write(stream, req);
    beast_http::response<beast_http::string_body> res;
    beast_http::read(stream, buffer, res);
    EXPECT_EQ(res.body(), "none");
  }
}

TEST_F(tls_connection_test, sends_a_file_byte_exact_through_ssl) {
  start(tls::client_auth::none);
  const auto path = dir_.path() / "blob";
  std::string content(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 7919) >> 3);
  std::ofstream(path, std::ios::binary) << content;
  auto context = client_context();
  auto res = get(context, "/file", {{"X-File", path.string()}});
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_TRUE(res->body() == content) << "body of " << res->body().size() << " bytes differs";
}

TEST_F(tls_connection_test, reads_a_request_body_and_limits_the_head) {
  server_options options;
  options.max_header_bytes = 2048;
  start(tls::client_auth::none, options);
  auto context = client_context();
  auto res = get(context, "/echo", {}, "hello over tls");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->body(), "read:hello over tls");
  // One TLS record, written whole before the server answers and closes.
  res = get(context, "/whoami", {{"X-Big", std::string(4 * 1024, 'x')}});
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->result_int(), 431);
}

TEST_F(tls_connection_test, a_verified_client_certificate_reaches_the_handler) {
  start(tls::client_auth::require);
  auto context = client_context("client");
  auto res = get(context, "/whoami");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->body(), "cn=robot sans=robot.example,ci@example.com,");
}

TEST_F(tls_connection_test, require_refuses_clients_without_a_valid_certificate) {
  start(tls::client_auth::require);
  for (const std::string name : {"", "expired", "stranger"}) {
    auto context = client_context(name);
    // TLS 1.3: the client may finish its handshake before the server's alert arrives.
    auto res = get(context, "/whoami");
    EXPECT_FALSE(res) << "client certificate '" << name << "' was served: " << res->body();
  }
}

TEST_F(tls_connection_test, optional_counts_only_a_verified_certificate) {
  start(tls::client_auth::optional);
  auto anonymous = client_context();
  auto res = get(anonymous, "/whoami");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->body(), "none");
  for (const std::string name : {"expired", "stranger"}) {
    auto context = client_context(name);
    res = get(context, "/whoami");
    ASSERT_TRUE(res) << name << ": " << res.error().message();
    EXPECT_EQ(res->body(), "none") << name;
  }
  auto verified = client_context("client");
  res = get(verified, "/whoami");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_THAT(res->body(), HasSubstr("cn=robot"));
}

TEST_F(tls_connection_test, plain_http_on_the_tls_port_gets_a_plain_400) {
  start(tls::client_auth::none);
  const auto answer = session_->raw("GET /v2/ HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_THAT(answer, ::testing::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(answer, HasSubstr("The plain HTTP request was sent to HTTPS port"));
}

TEST_F(tls_connection_test, a_client_that_sends_nothing_is_cut_after_header_timeout) {
  server_options options;
  options.header_timeout = std::chrono::milliseconds(200);
  start(tls::client_auth::none, options);
  auto client = session_->connect();
  const auto started = std::chrono::steady_clock::now();
  const auto answer = in_memory_session::read_until_closed(client);
  EXPECT_EQ(answer, "");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

}  // namespace
}  // namespace regcache::http
