#include "h2_session.hpp"

#include "connection.hpp"
#include "regcache/http/errc.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <vector>

namespace regcache::http {
namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// A handler's memory body waits above this much unframed data: the
// connection's memory per stream stays bounded whatever the client reads.
constexpr std::size_t pending_high_water = 256 * 1024;
// nghttp2_session_send stops filling the out queue past this much: it is
// written, then filling goes on.
constexpr std::uint64_t out_queue_limit = 1024 * 1024;
// The largest DATA frame regcache sends (when the client allows frames that
// large): fewer frames, fewer system calls per byte.
constexpr std::int32_t max_data_frame = 256 * 1024;
// The plaintext of a full TLS record.
constexpr std::int32_t tls_record = 16 * 1024;
// A request body kept for read_body (the admin API's JSON); past it the
// body is dropped and read_body answers body_too_large.
constexpr std::size_t max_request_body = 1024 * 1024;
// SETTINGS and PING acks the client does not read that nghttp2 keeps before
// it ends the connection (its default, stated).
constexpr std::size_t max_outbound_acks = 1000;
// CONTINUATION frames after one HEADERS frame: with 16 KiB frames more than
// any header list within max_header_list_size needs.
constexpr std::size_t max_continuations = 8;
// WINDOW_UPDATEs below this increment ask for work and move nothing: no
// client needs them (Go and nghttp2 wait for a quarter or half a window).
constexpr std::uint32_t tiny_window_update = 1024;

// HTTP/2 field names are lower case; these belong to HTTP/1.1's connection
// and must not appear (RFC 9113 8.2.2).
bool is_connection_specific(std::string_view lower_name) {
  return lower_name == "connection" || lower_name == "keep-alive" || lower_name == "transfer-encoding" ||
         lower_name == "upgrade" || lower_name == "proxy-connection";
}

// Field names are ASCII: no locale.
void append_lower(std::string& out, std::string_view text) {
  for (const char c : text) out += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

nghttp2_nv field(std::string_view name, std::string_view value) {
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

h2_session& session_of(void* self) { return *static_cast<h2_session*>(self); }

}  // namespace

// ---- h2_stream ----------------------------------------------------------

h2_stream::h2_stream(h2_session& session, std::int32_t id)
    : session_(session), id_(id), event_(session.conn_.executor()) {}

std::string_view h2_stream::remote_address() const noexcept { return session_.conn_.remote_address(); }

const client_certificate* h2_stream::peer_certificate() const noexcept { return session_.conn_.peer_certificate(); }

bool h2_stream::ready(wait_for what) const noexcept {
  switch (what) {
    case wait_for::request_body: return request_complete_ || body_too_large_ || body_.size() > body_limit_;
    case wait_for::room: return pending_.size() - pending_offset_ <= pending_high_water;
    case wait_for::memory_framed: return pending_offset_ == pending_.size();
    case wait_for::file_written: return file_remaining_ == 0 && file_unwritten_ == 0;
  }
  return true;
}

asio::awaitable<error_code> h2_stream::wait_until(wait_for what, std::chrono::milliseconds timeout) {
  while (!ready(what)) {
    if (closed_) co_return make_error_code(asio::error::connection_reset);
    event_.expires_after(timeout);
    auto [ec] = co_await event_.async_wait(use_tuple);
    // Woken (cancelled): look again. Expired: nothing moved for `timeout`.
    if (!ec && !ready(what)) co_return make_error_code(boost::beast::error::timeout);
  }
  co_return error_code{};
}

asio::awaitable<result<std::string>> h2_stream::read_body(std::size_t limit) {
  body_limit_ = limit;
  auto ec = co_await wait_until(wait_for::request_body, session_.conn_.options().read_timeout);
  if (ec) co_return ec;
  if (body_too_large_ || body_.size() > limit) co_return make_error_code(errc::body_too_large);
  co_return std::move(body_);
}

error_code h2_stream::submit_response(unsigned status, const header_fields& fields,
                                      std::optional<std::uint64_t> content_length, bool body_follows) {
  if (closed_) return make_error_code(asio::error::connection_reset);
  // HTTP/2 field names are lower case: one buffer holds them all, so the
  // name-value pairs point into it once it stopped growing.
  std::size_t names_size = 0;
  for (const auto& f : fields) names_size += f.first.size();
  std::string names;
  names.reserve(names_size);
  for (const auto& f : fields) append_lower(names, f.first);
  const auto status_text = std::to_string(status);
  const auto length_text = content_length ? std::to_string(*content_length) : std::string();
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size() + 2);
  nva.push_back(field(":status", status_text));
  std::size_t at = 0;
  for (const auto& [name, value] : fields) {
    const std::string_view lower_name(names.data() + at, name.size());
    at += name.size();
    if (is_connection_specific(lower_name)) continue;
    nva.push_back(field(lower_name, value));
  }
  if (content_length) nva.push_back(field("content-length", length_text));
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = &h2_session::on_read_data;
  const int rv =
      nghttp2_submit_response(session_.session_, id_, nva.data(), nva.size(), body_follows ? &provider : nullptr);
  if (rv != 0) return make_error_code(asio::error::connection_reset);
  session_.wake_writer();
  return error_code{};
}

asio::awaitable<error_code> h2_stream::send_head(const response_head& head, bool body_follows) {
  co_return submit_response(head.status, head.fields, head.content_length, body_follows);
}

// HEADERS and the body (a manifest: small) leave in the writer's next round,
// one write.
asio::awaitable<error_code> h2_stream::send_prepared(const prepared_response& response, bool body_follows) {
  if (auto ec = submit_response(response.status(), response.fields(), response.content_length(), body_follows))
    co_return ec;
  if (!body_follows) co_return error_code{};
  pending_.append(response.body());
  eof_ = true;
  make_data_available();
  co_return error_code{};
}

void h2_stream::make_data_available() {
  if (deferred_) {
    deferred_ = false;
    session_.resume(*this);
  }
  session_.wake_writer();
}

asio::awaitable<error_code> h2_stream::write_body(std::string_view bytes) {
  if (closed_) co_return make_error_code(asio::error::connection_reset);
  if (pending_offset_ == pending_.size()) {
    pending_.clear();
    pending_offset_ = 0;
  }
  pending_.append(bytes);
  make_data_available();
  co_return co_await wait_until(wait_for::room, session_.conn_.options().write_timeout);
}

asio::awaitable<error_code> h2_stream::send_file(int fd, std::uint64_t offset, std::uint64_t length) {
  // Memory bytes written before go first.
  const auto timeout = session_.conn_.options().write_timeout;
  if (auto ec = co_await wait_until(wait_for::memory_framed, timeout)) co_return ec;
  file_fd_ = fd;
  file_offset_ = offset;
  file_remaining_ = length;
  make_data_available();
  auto ec = co_await wait_until(wait_for::file_written, timeout);
  // Closed while bytes of the file were still to be framed: the caller
  // closes the file now, nghttp2 never asks for them again.
  file_remaining_ = 0;
  file_fd_ = -1;
  co_return ec;
}

asio::awaitable<error_code> h2_stream::finish_body() {
  if (closed_) co_return make_error_code(asio::error::connection_reset);
  eof_ = true;
  make_data_available();
  co_return error_code{};
}

void h2_stream::abort() noexcept {
  if (closed_) return;
  // INTERNAL_ERROR: the client discards the stream's response, never takes
  // a body cut short for a whole one.
  const int rv = nghttp2_submit_rst_stream(session_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  ignore_error(rv == 0 ? error_code{} : make_error_code(asio::error::connection_reset),
               "the stream is already gone");
  session_.wake_writer();
}

// ---- h2_session ---------------------------------------------------------

h2_session::h2_session(connection& conn, std::shared_ptr<server_shared> shared)
    : conn_(conn),
      shared_(std::move(shared)),
      options_(shared_->options.http2),
      control_frames_(options_.control_frame_burst, options_.control_frame_rate, clock::now()),
      writer_event_(conn.executor()),
      done_event_(conn.executor()) {}

h2_session::~h2_session() {
  if (session_) nghttp2_session_del(session_);
}

h2_stream* h2_session::stream_of(std::int32_t id) {
  const auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void h2_session::resume(h2_stream& stream) {
  const int rv = nghttp2_session_resume_data(session_, stream.id_);
  ignore_error(rv == 0 ? error_code{} : make_error_code(asio::error::connection_reset),
               "a stream closed meanwhile has nothing to resume");
}

void h2_session::forget_if_done(h2_stream& stream) {
  if (stream.closed_ && stream.handler_ != h2_stream::handler_state::running && stream.file_unwritten_ == 0)
    streams_.erase(stream.id_);
}

void h2_session::count_control_frame() {
  if (control_frames_.take(clock::now())) return;
  spdlog::warn("HTTP/2 client {} sent too many control frames (server.http2.control_frame_rate): GOAWAY",
               conn_.remote_address());
  const int rv = nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
  ignore_error(rv == 0 ? error_code{} : make_error_code(asio::error::connection_reset), "the session already ends");
}

void h2_session::drain() noexcept {
  if (goaway_sent_ || !session_) return;
  goaway_sent_ = true;
  // The last request taken: the client may retry later ones elsewhere.
  const int rv = nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last_request_id_, NGHTTP2_NO_ERROR, nullptr, 0);
  ignore_error(rv == 0 ? error_code{} : make_error_code(asio::error::connection_reset), "the session already ends");
  wake_writer();
}

// ---- nghttp2 callbacks ----------------------------------------------------

int h2_session::on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  auto& s = session_of(self);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  // A client resetting its streams at once frees nghttp2's count while the
  // handlers still run: those are capped too.
  if (s.running_handlers_ >= s.options_.max_concurrent_streams) {
    const int rv = nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
    ignore_error(rv == 0 ? error_code{} : make_error_code(asio::error::connection_reset), "the stream is gone");
    return 0;
  }
  auto stream = std::make_unique<h2_stream>(s, frame->hd.stream_id);
  nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, stream.get());
  s.streams_.emplace(frame->hd.stream_id, std::move(stream));
  return 0;
}

int h2_session::on_header(nghttp2_session* session, const nghttp2_frame* frame, const std::uint8_t* name,
                          std::size_t name_length, const std::uint8_t* value, std::size_t value_length,
                          std::uint8_t, void* self) {
  auto& s = session_of(self);
  auto* stream = static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (!stream || stream->headers_too_large_) return 0;
  // Trailers carry nothing regcache reads; they count for the limit all the same.
  stream->header_bytes_ += name_length + value_length + 32;
  if (stream->header_bytes_ > s.options_.max_header_list_size) {
    stream->headers_too_large_ = true;
    return 0;
  }
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  const std::string_view n(reinterpret_cast<const char*>(name), name_length);
  const std::string_view v(reinterpret_cast<const char*>(value), value_length);
  auto& request = stream->request_;
  if (n == ":method") request.method_string(v);
  else if (n == ":path") request.target(v);
  else if (n == ":authority") {
    if (request.find(beast_http::field::host) == request.end()) request.set(beast_http::field::host, v);
  } else if (!n.empty() && n.front() != ':') {
    if (n == "host") request.set(beast_http::field::host, v);
    else request.insert(n, v);
  }
  return 0;
}

int h2_session::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto& s = session_of(self);
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      auto* stream = s.stream_of(frame->hd.stream_id);
      if (!stream) return 0;
      const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        stream->ended_with_headers_ = end_stream;
        stream->request_complete_ = end_stream;
        stream->handler_ = h2_stream::handler_state::running;
        ++s.running_handlers_;
        s.last_request_id_ = std::max(s.last_request_id_, frame->hd.stream_id);
        // Started once nghttp2 handled the whole read: a RST_STREAM right
        // behind the HEADERS (rapid reset) then spares the handler entirely.
        s.to_start_.push_back(frame->hd.stream_id);
      } else if (end_stream) {
        stream->request_complete_ = true;
        stream->wake();
      }
      return 0;
    }
    case NGHTTP2_DATA: {
      const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      if (frame->hd.length == 0 && !end_stream) s.count_control_frame();
      if (auto* stream = s.stream_of(frame->hd.stream_id); stream && end_stream) {
        stream->request_complete_ = true;
        stream->wake();
      }
      return 0;
    }
    case NGHTTP2_PING:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) s.count_control_frame();
      return 0;
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) s.count_control_frame();
      return 0;
    case NGHTTP2_PRIORITY: s.count_control_frame(); return 0;
    case NGHTTP2_WINDOW_UPDATE:
      if (static_cast<std::uint32_t>(frame->window_update.window_size_increment) < tiny_window_update)
        s.count_control_frame();
      return 0;
    default: return 0;
  }
}

int h2_session::on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data,
                              std::size_t length, void* self) {
  auto* stream = session_of(self).stream_of(stream_id);
  if (!stream || stream->body_too_large_) return 0;
  if (stream->body_.size() + length > max_request_body) {
    stream->body_too_large_ = true;
    stream->body_.clear();
  } else {
    stream->body_.append(reinterpret_cast<const char*>(data), length);
  }
  stream->wake();
  return 0;
}

int h2_session::on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t, void* self) {
  auto& s = session_of(self);
  auto* stream = s.stream_of(stream_id);
  if (!stream) return 0;
  stream->closed_ = true;
  stream->wake();
  s.forget_if_done(*stream);
  return 0;
}

ssize_t h2_session::on_send(nghttp2_session*, const std::uint8_t* data, std::size_t length, int, void* self) {
  auto& s = session_of(self);
  if (s.out_bytes_ >= out_queue_limit) return NGHTTP2_ERR_WOULDBLOCK;
  if (s.out_.empty() || s.out_.back().fd >= 0) s.out_.emplace_back();
  s.out_.back().bytes.append(reinterpret_cast<const char*>(data), length);
  s.out_bytes_ += length;
  return static_cast<ssize_t>(length);
}

ssize_t h2_session::on_read_data(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t length,
                                 std::uint32_t* flags, nghttp2_data_source* source, void*) {
  auto& stream = *static_cast<h2_stream*>(source->ptr);
  const auto available = stream.available();
  if (available == 0 && !stream.eof_) {
    stream.deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  // Memory and a file are never pending at once (send_file waits for the
  // memory bytes first): a frame holds one or the other.
  const auto memory = stream.pending_.size() - stream.pending_offset_;
  const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(length, memory > 0 ? memory : available));
  *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (stream.eof_ && take == available) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(take);
}

int h2_session::on_send_data(nghttp2_session*, nghttp2_frame*, const std::uint8_t* frame_head, std::size_t length,
                             nghttp2_data_source* source, void* self) {
  auto& s = session_of(self);
  auto& stream = *static_cast<h2_stream*>(source->ptr);
  if (s.out_bytes_ >= out_queue_limit) return NGHTTP2_ERR_WOULDBLOCK;
  if (s.out_.empty() || s.out_.back().fd >= 0) s.out_.emplace_back();
  auto& piece = s.out_.back();
  // No padding: regcache never asks nghttp2 for any.
  piece.bytes.append(reinterpret_cast<const char*>(frame_head), 9);
  s.out_bytes_ += 9 + length;
  const auto memory = stream.pending_.size() - stream.pending_offset_;
  if (memory > 0) {
    piece.bytes.append(stream.pending_, stream.pending_offset_, length);
    stream.pending_offset_ += length;
    stream.wake();
  } else if (length > 0) {
    piece.fd = stream.file_fd_;
    piece.offset = stream.file_offset_;
    piece.length = length;
    piece.stream_id = stream.id_;
    stream.file_offset_ += length;
    stream.file_remaining_ -= length;
    stream.file_unwritten_ += length;
  }
  return 0;
}

ssize_t h2_session::on_read_length(nghttp2_session*, std::uint8_t, std::int32_t, std::int32_t session_window,
                                   std::int32_t stream_window, std::uint32_t max_frame, void* self) {
  const auto limit = std::min({session_window, stream_window, static_cast<std::int32_t>(max_frame), max_data_frame});
  // Over TLS a frame is written as whole records: its 9-byte header and
  // payload fill 16 KiB records exactly, or the header would cost a record
  // of its own after every full one (a 16 KiB frame: two records).
  if (session_of(self).conn_.encrypts() && limit >= tls_record) return limit / tls_record * tls_record - 9;
  return limit;
}

// ---- coroutines -------------------------------------------------------------

void h2_session::start_handlers() {
  auto starting = std::move(to_start_);
  to_start_.clear();
  for (const auto id : starting) {
    auto* stream = stream_of(id);
    if (stream && !stream->closed_) {
      asio::co_spawn(conn_.executor(), serve_stream(id), asio::detached);
      continue;
    }
    if (stream) {
      stream->handler_ = h2_stream::handler_state::done;
      forget_if_done(*stream);
    }
    --running_handlers_;
  }
  done_event_.cancel();
}

asio::awaitable<void> h2_session::serve_stream(std::int32_t id) {
  auto* found = stream_of(id);
  if (found && !found->closed_) {
    auto& stream = *found;
    if (stream.headers_too_large_) {
      co_await refuse_headers_too_large(stream);
    } else {
      exchange ex(stream, shared_->next_request_id());
      co_await answer(*shared_, ex);
    }
  }
  // A connection accepted while draining answers what came, then GOAWAY.
  if (shared_->draining.load()) drain();
  if (auto* stream = stream_of(id)) {
    stream->handler_ = h2_stream::handler_state::done;
    forget_if_done(*stream);
  }
  --running_handlers_;
  wake_writer();
  done_event_.cancel();
}

asio::awaitable<void> h2_session::refuse_headers_too_large(h2_stream& stream) {
  spdlog::info("HTTP/2 request from {} refused: header list over server.http2.max_header_list_size ({} bytes)",
               conn_.remote_address(), options_.max_header_list_size);
  response_head head{431, {{"Content-Type", "text/plain"}}, std::nullopt};
  std::string body = "Request Header Fields Too Large\n";
  head.content_length = body.size();
  auto ec = co_await stream.send_head(head, true);
  if (!ec) ec = co_await stream.write_body(body);
  if (!ec) ec = co_await stream.finish_body();
  ignore_error(ec, "the client may be gone");
}

void h2_session::end_streams() noexcept {
  for (auto& [id, stream] : streams_) {
    stream->closed_ = true;
    stream->file_unwritten_ = 0;
    stream->wake();
  }
}

asio::awaitable<error_code> h2_session::flush() {
  while (!out_.empty()) {
    auto piece = std::move(out_.front());
    out_.pop_front();
    error_code ec;
    if (piece.fd >= 0) {
      ec = co_await conn_.send_prefixed_file(piece.bytes, piece.fd, piece.offset, piece.length);
      if (auto* stream = stream_of(piece.stream_id)) {
        stream->file_unwritten_ -= piece.length;
        stream->wake();
        forget_if_done(*stream);
      }
    } else {
      ec = co_await conn_.write_buffers(piece.bytes, {}, {});
    }
    out_bytes_ -= piece.bytes.size() + piece.length;
    if (ec) co_return ec;
  }
  co_return error_code{};
}

asio::awaitable<void> h2_session::write_loop() {
  for (;;) {
    if (nghttp2_session_send(session_) != 0) break;
    if (!out_.empty()) {
      if (auto ec = co_await flush()) {
        spdlog::debug("HTTP/2 connection from {} ended: {}", conn_.remote_address(), ec.message());
        break;
      }
      continue;
    }
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) break;
    if (reader_done_) break;
    // Idle: no stream open and nothing read for idle_timeout ends the
    // connection with GOAWAY.
    const auto idle_deadline = last_read_ + conn_.options().idle_timeout;
    if (streams_.empty() && clock::now() >= idle_deadline) {
      const int rv = nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      ignore_error(rv == 0 ? error_code{} : make_error_code(asio::error::connection_reset), "the session ends");
      continue;
    }
    writer_event_.expires_at(streams_.empty() ? idle_deadline : clock::time_point::max());
    auto [ec] = co_await writer_event_.async_wait(use_tuple);
    ignore_error(ec, "woken or expired, the loop looks again");
  }
  writer_done_ = true;
  failed_ = true;
  out_.clear();
  out_bytes_ = 0;
  end_streams();
  conn_.close();
  done_event_.cancel();
}

asio::awaitable<void> h2_session::read_loop() {
  // The preface's detection may have read the first frames already.
  auto& input = conn_.input();
  while (!writer_done_) {
    if (input.size() > 0) {
      const auto data = input.data();
      const auto used =
          nghttp2_session_mem_recv(session_, static_cast<const std::uint8_t*>(data.data()), data.size());
      if (used < 0) {
        const auto error = static_cast<int>(used);
        spdlog::info("HTTP/2 connection from {} ended: {}", conn_.remote_address(), nghttp2_strerror(error));
        // The client is told why (the writer sends the GOAWAY before it
        // closes), unless it never spoke HTTP/2.
        const bool flood = error == NGHTTP2_ERR_FLOODED || error == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
        if (error != NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
          const int rv = nghttp2_session_terminate_session(
              session_, flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
          ignore_error(rv == 0 ? error_code{} : make_error_code(asio::error::connection_reset), "closing anyway");
        }
        break;
      }
      input.consume(static_cast<std::size_t>(used));
      start_handlers();
      wake_writer();
    }
    if (auto ec = co_await conn_.read_some(clock::time_point::max())) break;
    last_read_ = clock::now();
  }
  reader_done_ = true;
  wake_writer();
}

asio::awaitable<void> h2_session::run() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) co_return;
  nghttp2_session_callbacks_set_send_callback(callbacks, &h2_session::on_send);
  nghttp2_session_callbacks_set_send_data_callback(callbacks, &h2_session::on_send_data);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &h2_session::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &h2_session::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &h2_session::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &h2_session::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &h2_session::on_stream_close);
  nghttp2_session_callbacks_set_data_source_read_length_callback(callbacks, &h2_session::on_read_length);
  nghttp2_option* option = nullptr;
  if (nghttp2_option_new(&option) != 0) {
    nghttp2_session_callbacks_del(callbacks);
    co_return;
  }
  nghttp2_option_set_max_outbound_ack(option, max_outbound_acks);
  nghttp2_option_set_stream_reset_rate_limit(option, options_.reset_burst, options_.reset_rate);
  nghttp2_option_set_max_continuations(option, max_continuations);
  nghttp2_option_set_no_closed_streams(option, 1);
  const int created = nghttp2_session_server_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (created != 0) co_return;

  const std::array<nghttp2_settings_entry, 4> settings{{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, options_.max_header_list_size},
      // No RFC 7540 priority tree to keep per connection.
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  }};
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size()) != 0 ||
      nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                            static_cast<std::int32_t>(options_.connection_window)) != 0)
    co_return;
  asio::co_spawn(conn_.executor(), write_loop(), asio::detached);
  co_await read_loop();
  while (!writer_done_ || running_handlers_ > 0) {
    done_event_.expires_at(clock::time_point::max());
    auto [ec] = co_await done_event_.async_wait(use_tuple);
    ignore_error(ec, "woken: look again");
  }
}

}  // namespace regcache::http
