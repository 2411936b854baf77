#pragma once
// Internal to the http module: HTTP/2 on one connection (nghttp2's server
// session over the connection's transport).
//
//   reader coroutine   input() ──▶ nghttp2_session_mem_recv ──▶ callbacks:
//                        request HEADERS done ──▶ a handler coroutine per stream
//                        DATA ──▶ the stream's request body
//                        RST_STREAM / close ──▶ the stream's waiters woken
//   handler coroutines exchange ──▶ h2_stream: HEADERS submitted, body bytes
//                        queued (memory) or a file range recorded (no copy)
//   writer coroutine   nghttp2_session_send ──▶ out queue of pieces
//                        (frame bytes, then at most one file range each)
//                        ──▶ write_buffers / send_prefixed_file
//
// All of it runs on the connection's single-threaded executor: nghttp2 is
// only called from there and never across a co_await. A stream's handler
// waits (the stream's event) while its queued body is above a high-water
// mark, and until the file bytes it queued were written, so the file
// descriptor may be closed when send_file returns.
//
// Limits: nghttp2 enforces max_concurrent_streams (SETTINGS), the reset
// rate (nghttp2_option_set_stream_reset_rate_limit: GOAWAY past it), the
// CONTINUATION count per header block and the queue of unread PING/SETTINGS
// acks; this session adds the header list size (431), the control-frame
// rate (GOAWAY ENHANCE_YOUR_CALM), the cap on running handlers (REFUSED_STREAM)
// and the idle timeout (GOAWAY when no stream was open and nothing came for
// server.idle_timeout).
#include "exchange_io.hpp"
#include "regcache/http/token_bucket.hpp"
#include "server_shared.hpp"

#include <boost/asio/steady_timer.hpp>
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace regcache::http {

class connection;
class h2_session;

// One request stream: its request as the handler sees it, and the response
// body waiting to be framed.
class h2_stream final : public exchange_io {
 public:
  h2_stream(h2_session& session, std::int32_t id);

  const request_type& request() const override { return request_; }
  bool request_has_body() const noexcept override { return !ended_with_headers_; }
  boost::asio::awaitable<result<std::string>> read_body(std::size_t limit) override;
  std::string_view remote_address() const noexcept override;
  const client_certificate* peer_certificate() const noexcept override;
  std::string_view protocol() const noexcept override { return "HTTP/2"; }
  boost::asio::awaitable<error_code> send_head(const response_head& head, bool body_follows) override;
  boost::asio::awaitable<error_code> write_body(std::string_view bytes) override;
  boost::asio::awaitable<error_code> send_file(int fd, std::uint64_t offset, std::uint64_t length) override;
  boost::asio::awaitable<error_code> finish_body() override;
  void abort() noexcept override;
  boost::asio::awaitable<error_code> send_prepared(const prepared_response& response, bool body_follows) override;

 private:
  friend class h2_session;
  enum class handler_state { none, running, done };

  // Body bytes ready to be framed, memory first.
  std::uint64_t available() const noexcept {
    return pending_.size() - pending_offset_ + file_remaining_;
  }
  enum class wait_for {
    request_body,   // END_STREAM, or more than body_limit_ bytes
    room,           // the memory body below its high-water mark
    memory_framed,  // every memory byte framed
    file_written,   // every byte of the file range written to the socket
  };
  bool ready(wait_for what) const noexcept;
  // Waits for the stream's event until `what` or the stream closed;
  // `timeout` without a wake-up is a timeout.
  boost::asio::awaitable<error_code> wait_until(wait_for what, std::chrono::milliseconds timeout);
  void wake() noexcept { event_.cancel(); }
  // HEADERS (with the data provider when a body follows), submitted to nghttp2.
  error_code submit_response(unsigned status, const header_fields& fields,
                             std::optional<std::uint64_t> content_length, bool body_follows);
  void make_data_available();

  h2_session& session_;
  std::int32_t id_;
  request_type request_;
  std::size_t header_bytes_ = 0;
  bool headers_too_large_ = false;
  bool ended_with_headers_ = false;
  bool request_complete_ = false;  // END_STREAM came from the client
  std::string body_;
  std::size_t body_limit_ = 0;
  bool body_too_large_ = false;
  bool closed_ = false;  // nghttp2 closed the stream (done, reset, or the connection ended)
  handler_state handler_ = handler_state::none;

  bool eof_ = false;       // finish_body was called
  bool deferred_ = false;  // nghttp2 waits for nghttp2_session_resume_data
  std::string pending_;    // memory body bytes not framed yet, from pending_offset_
  std::size_t pending_offset_ = 0;
  int file_fd_ = -1;
  std::uint64_t file_offset_ = 0;
  std::uint64_t file_remaining_ = 0;   // not framed yet
  std::uint64_t file_unwritten_ = 0;   // framed, in the out queue
  boost::asio::steady_timer event_;
};

class h2_session {
 public:
  h2_session(connection& conn, std::shared_ptr<server_shared> shared);
  ~h2_session();
  h2_session(const h2_session&) = delete;
  h2_session& operator=(const h2_session&) = delete;

  // Serves the connection until it ends and every handler returned.
  boost::asio::awaitable<void> run();
  // GOAWAY: open streams finish, no new ones are taken.
  void drain() noexcept;

 private:
  friend class h2_stream;
  using clock = std::chrono::steady_clock;

  // Frame bytes, then (fd >= 0) `length` bytes of a file for stream `stream_id`.
  struct out_piece {
    std::string bytes;
    int fd = -1;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::int32_t stream_id = 0;
  };

  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  boost::asio::awaitable<error_code> flush();
  // Spawns the handlers of the requests the last read completed, except
  // for streams already closed.
  void start_handlers();
  boost::asio::awaitable<void> serve_stream(std::int32_t id);
  boost::asio::awaitable<void> refuse_headers_too_large(h2_stream& stream);
  void wake_writer() noexcept { writer_event_.cancel(); }
  void end_streams() noexcept;
  void forget_if_done(h2_stream& stream);
  h2_stream* stream_of(std::int32_t id);
  void resume(h2_stream& stream);
  // A frame that asks for work and carries no request: past the rate, GOAWAY.
  void count_control_frame();

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t name_length, const std::uint8_t* value, std::size_t value_length,
                       std::uint8_t flags, void* self);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t stream_id, const std::uint8_t* data,
                           std::size_t length, void* self);
  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code, void* self);
  static ssize_t on_send(nghttp2_session*, const std::uint8_t* data, std::size_t length, int flags, void* self);
  static int on_send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* frame_head,
                          std::size_t length, nghttp2_data_source* source, void* self);
  static ssize_t on_read_data(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf, std::size_t length,
                              std::uint32_t* flags, nghttp2_data_source* source, void* self);
  static ssize_t on_read_length(nghttp2_session*, std::uint8_t frame_type, std::int32_t stream_id,
                                std::int32_t session_window, std::int32_t stream_window, std::uint32_t max_frame,
                                void* self);

  connection& conn_;
  std::shared_ptr<server_shared> shared_;
  const http2_options& options_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, std::unique_ptr<h2_stream>> streams_;
  std::deque<out_piece> out_;
  std::uint64_t out_bytes_ = 0;
  std::size_t running_handlers_ = 0;
  std::int32_t last_request_id_ = 0;  // the newest stream whose request was taken
  std::vector<std::int32_t> to_start_;  // requests complete, handlers not started yet
  token_bucket control_frames_;
  clock::time_point last_read_ = clock::now();
  bool reader_done_ = false;
  bool writer_done_ = false;
  bool goaway_sent_ = false;
  bool failed_ = false;  // the transport failed: nothing more can be written
  boost::asio::steady_timer writer_event_;
  boost::asio::steady_timer done_event_;
};

}  // namespace regcache::http
