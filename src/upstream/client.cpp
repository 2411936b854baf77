#include "regcache/upstream/client.hpp"

#include "connection.hpp"
#include "h2_session.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/system/system_error.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace regcache::upstream {
namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace detail {

// The idle connections of one client, oldest first. The mutex guards the list
// only; it is never held across a co_await, and connections are closed after
// it is released.
class pool {
 public:
  pool(std::chrono::milliseconds idle_timeout, std::size_t max_idle)
      : idle_timeout_(idle_timeout), max_idle_(max_idle) {}

  // The most recently used idle connection that is young enough and was not
  // closed by the peer meanwhile; null when there is none.
  std::unique_ptr<connection> take() {
    std::vector<std::unique_ptr<connection>> dropped;
    std::unique_ptr<connection> found;
    {
      std::lock_guard lock(mutex_);
      const auto now = connection::clock::now();
      while (!idle_.empty() && !found) {
        auto candidate = std::move(idle_.back());
        idle_.pop_back();
        if (now - candidate->idle_since() >= idle_timeout_ || candidate->peer_closed_while_idle())
          dropped.push_back(std::move(candidate));
        else
          found = std::move(candidate);
      }
      // Everything older than an expired connection expired too.
      expire(now, dropped);
    }
    return found;
  }

  void give_back(std::unique_ptr<connection> conn) {
    std::vector<std::unique_ptr<connection>> dropped;
    {
      std::lock_guard lock(mutex_);
      const auto now = connection::clock::now();
      expire(now, dropped);
      if (max_idle_ == 0) {
        dropped.push_back(std::move(conn));
      } else {
        if (idle_.size() == max_idle_) {
          dropped.push_back(std::move(idle_.front()));
          idle_.erase(idle_.begin());
        }
        conn->mark_idle(now);
        idle_.push_back(std::move(conn));
      }
    }
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return idle_.size();
  }

  void clear() {
    std::vector<std::unique_ptr<connection>> dropped;
    std::lock_guard lock(mutex_);
    dropped.swap(idle_);
  }

 private:
  void expire(connection::clock::time_point now, std::vector<std::unique_ptr<connection>>& dropped) {
    const auto young = std::find_if(idle_.begin(), idle_.end(),
                                    [&](const auto& c) { return now - c->idle_since() < idle_timeout_; });
    std::move(idle_.begin(), young, std::back_inserter(dropped));
    idle_.erase(idle_.begin(), young);
  }

  const std::chrono::milliseconds idle_timeout_;
  const std::size_t max_idle_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<connection>> idle_;
};

}  // namespace detail

namespace {

constexpr std::size_t read_all_chunk = 64 * 1024;
// Longer rests are not worth reading to save a connection.
constexpr std::size_t discard_limit = 64 * 1024;
// Tries of one h2c request the upstream did not process.
constexpr int max_h2_attempts = 3;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

// RFC 9110 §5.6.2 token characters.
bool valid_field_name(std::string_view name) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

bool valid_field_value(std::string_view value) { return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

// Origin-form: starts with '/', no whitespace or control characters.
bool valid_target(std::string_view target) {
  return target.starts_with('/') && std::none_of(target.begin(), target.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u <= 0x20 || u == 0x7f;
         });
}

bool has_field(const request& req, std::string_view name) {
  return std::any_of(req.headers.begin(), req.headers.end(), [&](const auto& h) { return iequals(h.first, name); });
}

result<detail::http_request> build_message(const request& req, const endpoint& ep, const client_options& opts) {
  if (!valid_target(req.target)) return errc::invalid_request;
  detail::http_request msg;
  msg.version(11);
  msg.method(req.verb == method::head ? beast_http::verb::head : beast_http::verb::get);
  msg.target(ep.base_path + req.target);
  if (!has_field(req, "Host")) msg.set(beast_http::field::host, ep.authority());
  if (!has_field(req, "User-Agent")) msg.set(beast_http::field::user_agent, opts.user_agent);
  // Blobs must arrive byte for byte as addressed by their digest.
  if (!has_field(req, "Accept-Encoding")) msg.set(beast_http::field::accept_encoding, "identity");
  if (!has_field(req, "Connection")) msg.set(beast_http::field::connection, "keep-alive");
  for (const auto& [name, value] : req.headers) {
    if (!valid_field_name(name) || !valid_field_value(value)) return errc::invalid_request;
    msg.insert(name, value);
  }
  return msg;
}

// Fields that describe one HTTP/1.1 connection have no place in HTTP/2 (RFC 9113 §8.2.2).
bool connection_specific(std::string_view name) {
  static constexpr std::string_view names[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                               "upgrade", "host"};
  return std::any_of(std::begin(names), std::end(names), [&](std::string_view n) { return iequals(n, name); });
}

// The HTTP/2 form of a request build_message() made and checked: pseudo-header
// fields first (Host becomes :authority), names lowercase.
detail::field_list h2_fields(const detail::http_request& msg) {
  detail::field_list fields{{":method", std::string(msg.method_string())},
                            {":scheme", "http"},
                            {":authority", std::string(msg[beast_http::field::host])},
                            {":path", std::string(msg.target())}};
  for (const auto& field : msg) {
    if (connection_specific(field.name_string())) continue;
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    fields.emplace_back(std::move(name), std::string(field.value()));
  }
  return fields;
}

// Mutual TLS: present a client certificate when one is configured.
void use_client_certificate(asio::ssl::context& ctx, const endpoint& ep, const client_options& opts) {
  if (opts.client_cert_file.empty()) return;
  error_code ec;
  ctx.use_certificate_chain_file(opts.client_cert_file, ec);
  if (ec)
    throw boost::system::system_error(ec, "upstream " + ep.origin() + ": cannot load client_cert_file " +
                                              opts.client_cert_file);
  ctx.use_private_key_file(opts.client_key_file, asio::ssl::context::pem, ec);
  if (ec)
    throw boost::system::system_error(ec, "upstream " + ep.origin() + ": cannot load client_key_file " +
                                              opts.client_key_file);
}

std::shared_ptr<asio::ssl::context> make_tls_context(const endpoint& ep, const client_options& opts) {
  if (!ep.tls()) return nullptr;
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (opts.insecure_skip_verify) {
    ctx->set_verify_mode(asio::ssl::verify_none, ec);
    if (ec) throw boost::system::system_error(ec, "upstream " + ep.origin() + ": TLS setup");
    spdlog::warn("upstream {}: insecure_skip_verify is set: the certificate is not verified", ep.origin());
    use_client_certificate(*ctx, ep, opts);
    return ctx;
  }
  ctx->set_verify_mode(asio::ssl::verify_peer, ec);
  if (ec) throw boost::system::system_error(ec, "upstream " + ep.origin() + ": TLS setup");
  ctx->set_default_verify_paths(ec);
  if (ec) spdlog::warn("upstream {}: system CA certificates unavailable: {}", ep.origin(), ec.message());
  if (!opts.ca_file.empty()) {
    ctx->load_verify_file(opts.ca_file, ec);
    if (ec) throw boost::system::system_error(ec, "upstream " + ep.origin() + ": cannot load ca_file " + opts.ca_file);
  }
  use_client_certificate(*ctx, ep, opts);
  return ctx;
}

}  // namespace

// ---- response ------------------------------------------------------------

response::response(std::unique_ptr<detail::connection> connection, std::weak_ptr<detail::pool> pool,
                   std::chrono::milliseconds read_timeout, connection_limit::permit permit)
    : status_(connection->status()),
      fields_(connection->fields()),
      content_length_(connection->content_length()),
      body_done_(connection->body_done()),
      read_timeout_(read_timeout),
      connection_(std::move(connection)),
      pool_(std::move(pool)),
      permit_(std::move(permit)) {
  if (body_done_) release();
}

response::response(std::unique_ptr<detail::h2_stream> stream, std::chrono::milliseconds read_timeout,
                   connection_limit::permit permit)
    : status_(stream->status()),
      fields_(stream->fields()),
      content_length_(stream->content_length()),
      body_done_(stream->body_done()),
      read_timeout_(read_timeout),
      stream_(std::move(stream)),
      permit_(std::move(permit)) {
  if (body_done_) release();
}

response::response(response&& other) noexcept = default;

response& response::operator=(response&& other) noexcept {
  if (this != &other) {
    release();
    status_ = other.status_;
    fields_ = std::move(other.fields_);
    content_length_ = other.content_length_;
    body_done_ = other.body_done_;
    read_timeout_ = other.read_timeout_;
    connection_ = std::move(other.connection_);
    stream_ = std::move(other.stream_);
    pool_ = std::move(other.pool_);
    permit_ = std::move(other.permit_);
  }
  return *this;
}

response::~response() { release(); }

void response::release() noexcept {
  permit_.reset();
  stream_.reset();
  if (!connection_) return;
  auto conn = std::move(connection_);
  if (!conn->reusable()) return;
  if (auto p = pool_.lock()) p->give_back(std::move(conn));
}

std::optional<std::string_view> response::header(std::string_view name) const {
  for (const auto& [n, v] : fields_)
    if (iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

std::vector<std::string_view> response::headers(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : fields_)
    if (iequals(n, name)) out.emplace_back(v);
  return out;
}

asio::awaitable<result<std::size_t>> response::read_some(std::span<std::byte> buf) {
  if (buf.empty()) co_return errc::invalid_request;
  if (body_done_) co_return std::size_t{0};
  if (!connection_ && !stream_) co_return errc::connection_closed;
  result<std::size_t> n = errc::connection_closed;
  if (stream_)
    n = co_await stream_->read_body(buf, read_timeout_);
  else
    n = co_await connection_->read_body(buf, read_timeout_);
  if (!n) {
    connection_.reset();  // mid-body: nothing more can be read from it
    stream_.reset();
    permit_.reset();
    co_return n.error();
  }
  if (stream_ ? stream_->body_done() : connection_->body_done()) {
    body_done_ = true;
    release();
  }
  co_return *n;
}

asio::awaitable<result<std::string>> response::read_all(std::size_t limit) {
  if (content_length_ && *content_length_ > limit && !body_done_) co_return errc::body_too_large;
  std::string body;
  if (content_length_ && !body_done_) body.reserve(static_cast<std::size_t>(*content_length_));
  for (;;) {
    // Ask for one byte beyond the limit so an over-long body shows without reading all of it.
    const std::size_t remaining = limit - body.size();
    const std::size_t room = remaining >= read_all_chunk ? read_all_chunk : remaining + 1;
    const std::size_t old_size = body.size();
    body.resize(old_size + room);
    const std::span<std::byte> piece(reinterpret_cast<std::byte*>(body.data() + old_size), room);
    auto n = co_await read_some(piece);
    if (!n) co_return n.error();
    body.resize(old_size + *n);
    if (body.size() > limit) co_return errc::body_too_large;
    if (*n == 0 || body_done_) break;
  }
  co_return body;
}

asio::awaitable<void> response::discard() {
  if (!body_done_) {
    auto rest = co_await read_all(discard_limit);
    if (!rest) ignore_error(rest.error(), "an unreadable rest only means the connection is not reused");
  }
  body_done_ = true;
  release();
}

// ---- client --------------------------------------------------------------

struct client::impl {
  impl(asio::any_io_executor ex, endpoint e, client_options o)
      : executor(std::move(ex)),
        ep(std::move(e)),
        opts(std::move(o)),
        tls(make_tls_context(ep, opts)),
        idle(std::make_shared<detail::pool>(opts.idle_timeout, opts.max_idle_connections)) {}

  const asio::any_io_executor executor;
  const endpoint ep;
  const client_options opts;
  const std::shared_ptr<asio::ssl::context> tls;
  const std::shared_ptr<detail::pool> idle;

  // h2c: the connection new exchanges go on, replaced once it takes no more.
  std::shared_ptr<detail::h2_session> h2_session_now() {
    std::lock_guard lock(h2_mutex);
    if (!h2 || !h2->accepts_streams()) h2 = std::make_shared<detail::h2_session>(executor, ep, detail::h2_windows{});
    return h2;
  }

  asio::awaitable<result<response>> send_h2(detail::http_request msg, connection_limit::permit permit) {
    auto fields = h2_fields(msg);
    // A request the upstream did not process (GOAWAY, REFUSED_STREAM, a
    // connection lost before it answered) goes again on a new connection;
    // a few times at most, so an upstream refusing everything ends it.
    for (int attempt = 1;; ++attempt) {
      auto session = h2_session_now();
      auto outcome = co_await session->exchange(fields, opts.connect_timeout, opts.read_timeout);
      if (outcome.stream) co_return response(std::move(outcome.stream), opts.read_timeout, std::move(permit));
      if (!outcome.unprocessed || attempt == max_h2_attempts) co_return outcome.error;
      spdlog::debug("upstream {}: {} {} was not processed; sending it on a new connection", ep.origin(),
                    msg.method_string(), msg.target());
    }
  }

  std::mutex h2_mutex;
  std::shared_ptr<detail::h2_session> h2;
};

client::client(asio::any_io_executor executor, endpoint ep, client_options opts)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(ep), std::move(opts))) {}

client::~client() {
  impl_->idle->clear();
  std::lock_guard lock(impl_->h2_mutex);
  if (impl_->h2) impl_->h2->close();
}

const endpoint& client::target() const noexcept { return impl_->ep; }

std::size_t client::idle_connections() const { return impl_->idle->size(); }

asio::awaitable<result<response>> client::send(request req) {
  const auto state = impl_;  // the client may be destroyed while this runs
  auto msg = build_message(req, state->ep, state->opts);
  if (!msg) co_return msg.error();
  const bool head = req.verb == method::head;
  connection_limit::permit permit;
  if (state->opts.limit) permit = co_await state->opts.limit->acquire();
  if (state->opts.h2c) co_return co_await state->send_h2(std::move(*msg), std::move(permit));

  // A pooled connection may have been closed by the upstream just as it was
  // taken; such a request never reached it, so GET and HEAD go once more on a
  // fresh connection.
  for (bool fresh_only = false;; fresh_only = true) {
    auto conn = fresh_only ? nullptr : state->idle->take();
    const bool reused = conn != nullptr;
    if (!conn) {
      auto opened = co_await detail::connection::open(state->executor, state->ep, state->tls,
                                                      state->opts.connect_timeout);
      if (!opened) co_return opened.error();
      conn = std::move(*opened);
    }
    const auto ec = co_await conn->exchange(*msg, head, state->opts.read_timeout);
    if (!ec) co_return response(std::move(conn), state->idle, state->opts.read_timeout, std::move(permit));
    if (reused && ec == errc::connection_closed && !conn->got_response_bytes()) {
      spdlog::debug("upstream {}: pooled connection was closed by the peer; retrying on a new one",
                    state->ep.origin());
      continue;
    }
    co_return ec;
  }
}

}  // namespace regcache::upstream
