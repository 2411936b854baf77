#include "h2_session.hpp"

#include "connection.hpp"
#include "regcache/core/text.hpp"
#include "regcache/upstream/errc.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace regcache::upstream::detail {
namespace asio = boost::asio;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// The most one socket read brings, and about the most one write sends.
constexpr std::size_t input_bytes = 256 * 1024;
constexpr std::size_t output_batch_bytes = 256 * 1024;

// What nghttp2 counts per header field beyond its name and value (RFC 9113 §6.5.2).
constexpr std::size_t field_overhead = 32;

}  // namespace

// One stream's state, touched only on the session's strand. Body bytes wait
// in `body` from `read_at` on until the reader takes them.
struct h2_stream_state {
  explicit h2_stream_state(asio::any_io_executor executor) : wake(std::move(executor)) {}

  std::size_t buffered() const noexcept { return body.size() - read_at; }

  void append(const std::uint8_t* data, std::size_t length) {
    // Compact once the read part dominates, so the buffer stays about one window long.
    if (read_at == body.size()) {
      body.clear();
      read_at = 0;
    } else if (read_at > body.size() / 2) {
      body.erase(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(read_at));
      read_at = 0;
    }
    const auto* bytes = reinterpret_cast<const std::byte*>(data);
    body.insert(body.end(), bytes, bytes + length);
  }

  std::size_t take(std::span<std::byte> out) {
    const std::size_t n = std::min(out.size(), buffered());
    std::memcpy(out.data(), body.data() + read_at, n);
    read_at += n;
    return n;
  }

  std::int32_t id = -1;
  unsigned status = 0;
  field_list fields;
  std::size_t header_bytes = 0;
  bool head_done = false;
  bool ended = false;      // END_STREAM arrived: every body byte is in `body`
  bool any_frame = false;  // the upstream sent something on this stream
  error_code failure;      // reset, connection lost, malformed answer
  bool unprocessed = false;
  std::vector<std::byte> body;
  std::size_t read_at = 0;
  asio::steady_timer wake;  // cancelled whenever something above changes
};

// nghttp2's callbacks, all called from within nghttp2_session_mem_recv /
// mem_send on the strand, with the session as user data.
struct h2_callbacks {
  static h2_session& of(void* user_data) { return *static_cast<h2_session*>(user_data); }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t name_length,
                       const std::uint8_t* value, std::size_t value_length, std::uint8_t, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto stream = of(user_data).stream_of(frame->hd.stream_id);
    if (!stream || stream->head_done) return 0;  // trailers carry nothing regcache uses
    stream->header_bytes += name_length + value_length + field_overhead;
    if (stream->header_bytes > h2_session::max_header_bytes) {
      stream->failure = errc::protocol_error;
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
    }
    const std::string_view field_name(reinterpret_cast<const char*>(name), name_length);
    const std::string_view field_value(reinterpret_cast<const char*>(value), value_length);
    if (field_name == ":status") {
      const auto status = core::parse_decimal(field_value);
      stream->status = status && *status >= 100 && *status <= 999 ? static_cast<unsigned>(*status) : 0;
    } else if (!field_name.starts_with(':')) {
      stream->fields.emplace_back(field_name, field_value);
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    auto& session = of(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      spdlog::debug("upstream {}: GOAWAY (last stream {}, error {})", session.origin_,
                    frame->goaway.last_stream_id, frame->goaway.error_code);
      session.go_away();
      return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    auto stream = session.stream_of(frame->hd.stream_id);
    if (!stream) return 0;
    stream->any_frame = true;
    if (frame->hd.type == NGHTTP2_HEADERS && !stream->head_done) {
      if (stream->status >= 200) {
        stream->head_done = true;
      } else {
        // An interim (1xx) head: the real one follows.
        stream->status = 0;
        stream->fields.clear();
        stream->header_bytes = 0;
      }
    }
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
      stream->ended = true;
      if (!stream->head_done && !stream->failure) stream->failure = errc::protocol_error;
    }
    stream->wake.cancel();
    return 0;
  }

  static int on_data_chunk(nghttp2_session* ng, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data,
                           std::size_t length, void* user_data) {
    auto stream = of(user_data).stream_of(stream_id);
    if (!stream) {
      // Nobody reads it any more: give the window back at once.
      nghttp2_session_consume(ng, stream_id, length);
      return 0;
    }
    stream->any_frame = true;
    stream->append(data, length);
    stream->wake.cancel();
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code, void* user_data) {
    auto& session = of(user_data);
    auto stream = session.stream_of(stream_id);
    if (!stream) return 0;
    session.streams_.erase(stream_id);
    if (!stream->ended && !stream->failure) {
      stream->failure = errc::connection_closed;
      stream->unprocessed = error_code == NGHTTP2_REFUSED_STREAM;
      spdlog::debug("upstream {}: stream {} closed before its end (error {})", session.origin_, stream_id,
                    error_code);
    }
    stream->wake.cancel();
    session.close_if_finished();
    return 0;
  }

  // A request that could not even be sent (e.g. after a GOAWAY) was never processed.
  static int on_frame_not_send(nghttp2_session*, const nghttp2_frame* frame, int lib_error, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto& session = of(user_data);
    auto stream = session.stream_of(frame->hd.stream_id);
    if (!stream) return 0;
    session.streams_.erase(frame->hd.stream_id);
    stream->failure = errc::connection_closed;
    stream->unprocessed = true;
    spdlog::debug("upstream {}: request on stream {} not sent: {}", session.origin_, frame->hd.stream_id,
                  nghttp2_strerror(lib_error));
    stream->wake.cancel();
    session.close_if_finished();
    return 0;
  }
};

namespace {

// nghttp2's callbacks table, built once.
nghttp2_session_callbacks* callbacks() {
  static nghttp2_session_callbacks* const table = [] {
    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) throw std::bad_alloc();
    nghttp2_session_callbacks_set_on_header_callback(cbs, &h2_callbacks::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &h2_callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &h2_callbacks::on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &h2_callbacks::on_stream_close);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, &h2_callbacks::on_frame_not_send);
    return cbs;
  }();
  return table;
}

nghttp2_nv as_nv(const std::pair<std::string, std::string>& field) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(field.first.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(field.second.data())), field.first.size(),
                    field.second.size(), NGHTTP2_NV_FLAG_NONE};
}

std::optional<std::uint64_t> content_length_of(const field_list& fields) {
  for (const auto& [name, value] : fields)
    if (name == "content-length") return core::parse_decimal(value);
  return std::nullopt;
}

}  // namespace

// ---- h2_stream -------------------------------------------------------------

h2_stream::h2_stream(std::shared_ptr<h2_session> session, std::shared_ptr<h2_stream_state> state, bool done)
    : session_(std::move(session)),
      state_(std::move(state)),
      status_(state_->status),
      fields_(state_->fields),
      content_length_(content_length_of(fields_)),
      done_(done) {}

h2_stream::~h2_stream() {
  if (done_) return;
  asio::post(session_->strand_, [session = session_, state = state_] { session->abandon(state); });
}

asio::awaitable<result<std::size_t>> h2_stream::read_body(std::span<std::byte> buf, std::chrono::milliseconds timeout) {
  if (buf.empty()) co_return errc::invalid_request;
  if (done_) co_return std::size_t{0};
  auto piece =
      co_await asio::co_spawn(session_->strand_, session_->read_here(session_, state_, buf, timeout), asio::use_awaitable);
  done_ = piece.done;
  co_return piece.bytes;
}

// ---- h2_session ------------------------------------------------------------

h2_session::h2_session(asio::any_io_executor executor, endpoint ep, h2_windows windows)
    : strand_(asio::make_strand(std::move(executor))),
      socket_(strand_),
      ep_(std::move(ep)),
      origin_(ep_.origin()),
      connected_(strand_),
      input_(input_bytes) {
  // Set once: every waiter waits on it until the connect's end cancels it
  // (setting the expiry again would cancel the other waiters).
  connected_.expires_at(std::chrono::steady_clock::time_point::max());
  nghttp2_option* options = nullptr;
  if (nghttp2_option_new(&options) != 0) throw std::bad_alloc();
  // Windows open as the caller reads (nghttp2_session_consume), not on arrival.
  nghttp2_option_set_no_auto_window_update(options, 1);
  const int created = nghttp2_session_client_new2(&session_, callbacks(), this, options);
  nghttp2_option_del(options);
  if (created != 0) throw std::bad_alloc();
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, windows.stream},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(max_header_bytes)},
  };
  // Both only queue frames; the first flush after the connect sends them behind the preface.
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, static_cast<std::int32_t>(windows.connection));
}

h2_session::~h2_session() { nghttp2_session_del(session_); }

void h2_session::close() {
  accepts_streams_ = false;
  asio::post(strand_, [self = shared_from_this()] {
    self->going_away_ = true;
    self->close_if_finished();
  });
}

std::shared_ptr<h2_stream_state> h2_session::stream_of(std::int32_t id) const {
  const auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

asio::awaitable<h2_outcome> h2_session::exchange(field_list fields, std::chrono::milliseconds connect_timeout,
                                                 std::chrono::milliseconds read_timeout) {
  auto self = shared_from_this();
  co_return co_await asio::co_spawn(strand_, exchange_here(self, std::move(fields), connect_timeout, read_timeout),
                                    asio::use_awaitable);
}

asio::awaitable<void> h2_session::establish(std::chrono::milliseconds connect_timeout) {
  phase_ = phase::connecting;
  const auto ec = co_await connect_tcp(socket_, ep_, std::chrono::steady_clock::now() + connect_timeout);
  if (ec) {
    connect_error_ = ec;
    phase_ = phase::dead;
    accepts_streams_ = false;
  } else {
    phase_ = phase::open;
    spdlog::debug("upstream {}: HTTP/2 (h2c) connection open", origin_);
    asio::co_spawn(strand_, read_loop(shared_from_this()), asio::detached);
    flush();
  }
  connected_.cancel();
}

asio::awaitable<h2_outcome> h2_session::exchange_here(std::shared_ptr<h2_session> self, field_list fields,
                                                      std::chrono::milliseconds connect_timeout,
                                                      std::chrono::milliseconds read_timeout) {
  if (phase_ == phase::fresh) co_await establish(connect_timeout);
  while (phase_ == phase::connecting) {
    auto [ec] = co_await connected_.async_wait(use_tuple);
    ignore_error(ec, "woken by the connect's end; phase_ tells how it went");
  }
  if (phase_ == phase::dead && connect_error_) co_return h2_outcome{nullptr, connect_error_, false};
  if (phase_ == phase::dead || going_away_) co_return h2_outcome{nullptr, errc::connection_closed, true};

  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (const auto& field : fields) nva.push_back(as_nv(field));
  auto stream = std::make_shared<h2_stream_state>(strand_);
  const auto id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), nullptr, nullptr);
  if (id < 0) {
    spdlog::debug("upstream {}: cannot open a stream: {}", origin_, nghttp2_strerror(id));
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
      go_away();
      co_return h2_outcome{nullptr, errc::connection_closed, true};
    }
    co_return h2_outcome{nullptr, errc::invalid_request, false};
  }
  stream->id = id;
  streams_.emplace(id, stream);
  flush();

  const auto deadline = std::chrono::steady_clock::now() + read_timeout;
  while (!stream->head_done && !stream->failure) {
    if (std::chrono::steady_clock::now() >= deadline) {
      spdlog::debug("upstream {}: no response head on stream {} within {} ms", origin_, id, read_timeout.count());
      abandon(stream);
      // A connection that went silent is not trusted with the next request.
      go_away();
      co_return h2_outcome{nullptr, errc::read_timeout, false};
    }
    stream->wake.expires_at(deadline);
    auto [ec] = co_await stream->wake.async_wait(use_tuple);
    ignore_error(ec, "woken by news on the stream or by the deadline; the loop looks which");
  }
  if (stream->failure) {
    abandon(stream);
    co_return h2_outcome{nullptr, stream->failure, stream->unprocessed};
  }
  const bool done = stream->ended && stream->buffered() == 0;
  co_return h2_outcome{std::make_unique<h2_stream>(std::move(self), std::move(stream), done), {}, false};
}

asio::awaitable<h2_session::body_piece> h2_session::read_here(std::shared_ptr<h2_session> self,
                                                               std::shared_ptr<h2_stream_state> stream,
                                                               std::span<std::byte> buf,
                                                               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (stream->buffered() > 0) {
      const auto n = stream->take(buf);
      if (phase_ != phase::dead) {
        nghttp2_session_consume(session_, stream->id, n);
        flush();
      }
      co_return body_piece{n, stream->ended && stream->buffered() == 0};
    }
    if (stream->ended) co_return body_piece{std::size_t{0}, true};
    if (stream->failure) co_return body_piece{stream->failure, false};
    if (std::chrono::steady_clock::now() >= deadline) {
      spdlog::debug("upstream {}: no body bytes on stream {} within {} ms", origin_, stream->id, timeout.count());
      stream->failure = errc::read_timeout;
      abandon(stream);
      go_away();
      co_return body_piece{errc::read_timeout, false};
    }
    stream->wake.expires_at(deadline);
    auto [ec] = co_await stream->wake.async_wait(use_tuple);
    ignore_error(ec, "woken by news on the stream or by the deadline; the loop looks which");
  }
}

void h2_session::abandon(const std::shared_ptr<h2_stream_state>& stream) {
  const bool open = streams_.erase(stream->id) > 0;
  if (phase_ != phase::dead) {
    if (open) nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream->id, NGHTTP2_CANCEL);
    // What arrived but was never read still counts against the connection's window.
    if (stream->buffered() > 0) nghttp2_session_consume_connection(session_, stream->buffered());
    flush();
  }
  stream->body.clear();
  stream->read_at = 0;
  close_if_finished();
}

void h2_session::go_away() {
  going_away_ = true;
  accepts_streams_ = false;
  close_if_finished();
}

void h2_session::close_if_finished() {
  if (phase_ != phase::open || !going_away_ || !streams_.empty() || writing_) return;
  spdlog::debug("upstream {}: HTTP/2 connection closed (going away, no stream left)", origin_);
  fail(errc::connection_closed);
}

void h2_session::fail(error_code why) {
  if (phase_ == phase::dead) return;
  phase_ = phase::dead;
  accepts_streams_ = false;
  error_code ec;
  socket_.socket().close(ec);
  ignore_error(ec, "the connection is dropped either way");
  for (auto& [id, stream] : streams_) {
    if (!stream->ended && !stream->failure) {
      stream->failure = why;
      stream->unprocessed = !stream->any_frame;
    }
    stream->wake.cancel();
  }
  streams_.clear();
  connected_.cancel();
}

void h2_session::flush() {
  if (writing_ || phase_ != phase::open) return;
  if (!nghttp2_session_want_write(session_)) return;
  writing_ = true;
  asio::co_spawn(strand_, write_loop(shared_from_this()), asio::detached);
}

asio::awaitable<void> h2_session::write_loop(std::shared_ptr<h2_session> self) {
  for (;;) {
    output_.clear();
    while (output_.size() < output_batch_bytes) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        spdlog::warn("upstream {}: HTTP/2 framing failed: {}", origin_, nghttp2_strerror(static_cast<int>(n)));
        writing_ = false;
        fail(errc::protocol_error);
        co_return;
      }
      if (n == 0) break;
      output_.insert(output_.end(), data, data + n);
    }
    if (output_.empty() || phase_ != phase::open) break;
    auto [ec, written] = co_await asio::async_write(socket_.socket(), asio::buffer(output_), use_tuple);
    if (ec) {
      spdlog::debug("upstream {}: HTTP/2 write failed: {}", origin_, ec.message());
      writing_ = false;
      fail(errc::connection_closed);
      co_return;
    }
  }
  writing_ = false;
  close_if_finished();
}

asio::awaitable<void> h2_session::read_loop(std::shared_ptr<h2_session> self) {
  while (phase_ == phase::open) {
    auto [ec, n] = co_await socket_.socket().async_read_some(asio::buffer(input_), use_tuple);
    if (ec) {
      if (phase_ == phase::open) spdlog::debug("upstream {}: HTTP/2 connection lost: {}", origin_, ec.message());
      fail(errc::connection_closed);
      co_return;
    }
    const auto used = nghttp2_session_mem_recv(session_, input_.data(), n);
    if (used < 0) {
      spdlog::warn("upstream {}: HTTP/2 protocol error: {}", origin_, nghttp2_strerror(static_cast<int>(used)));
      fail(errc::protocol_error);
      co_return;
    }
    flush();
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      fail(errc::connection_closed);
      co_return;
    }
  }
}

}  // namespace regcache::upstream::detail
