#pragma once
// Internal to the upstream module: one HTTP/2 connection to an upstream in
// cleartext with prior knowledge (h2c: the client preface straight after the
// TCP connect, no Upgrade), carrying many exchanges at once, one stream each,
// through nghttp2's client session on an Asio TCP socket.
//
//   fresh ─first exchange()─▶ connecting ─▶ open ─GOAWAY, stream ids spent, a read timed out, close()─▶ going away
//                                │            │                                                            │
//                                ▼            ▼ socket error, EOF, protocol error                          │ last stream done
//                               dead ◀────────┴────────────────────────────────────────────────────────────┘
//
// Only an open session takes new exchanges (accepts_streams()); the client
// replaces one that does not. Exchanges beyond the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS wait in nghttp2's queue. A stream whose
// request the upstream never processed (REFUSED_STREAM, a GOAWAY's
// last_stream_id below it, or the connection lost before any frame of it
// arrived) ends with `unprocessed` set, and the caller sends it again on a
// new session. A stream reset or cut mid-answer fails like a cut HTTP/1.1
// connection (errc::connection_closed).
//
// Flow control: a stream's body is buffered as it arrives and credited back
// to the upstream (WINDOW_UPDATE) only as the caller reads it, so the receive
// windows bound what is held in memory; bytes an abandoned stream never read
// are credited back to the connection when it is dropped.
//
// Thread affinity: every nghttp2 call and socket operation runs on the
// session's strand; exchange() and the stream calls hop there and may be
// called from any executor. The session is owned by shared pointers (the
// client, the exchanges' streams and its own read loop).
#include "regcache/core/result.hpp"
#include "regcache/upstream/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

struct nghttp2_session;

namespace regcache::upstream::detail {

using field_list = std::vector<std::pair<std::string, std::string>>;

// Receive windows advertised to the upstream: per stream (SETTINGS_INITIAL_WINDOW_SIZE)
// and for the whole connection. Large, so parallel blob downloads on one
// connection are not held back waiting for WINDOW_UPDATEs.
struct h2_windows {
  std::uint32_t connection = 16u << 20;
  std::uint32_t stream = 4u << 20;
};

class h2_session;
struct h2_stream_state;

// The answer on one stream: its head at once, its body read through
// read_body(). Not thread-safe: one coroutine at a time reads it. Dropping it
// before the body was read to the end resets the stream (CANCEL).
class h2_stream {
 public:
  h2_stream(std::shared_ptr<h2_session> session, std::shared_ptr<h2_stream_state> state, bool done);
  ~h2_stream();
  h2_stream(const h2_stream&) = delete;
  h2_stream& operator=(const h2_stream&) = delete;

  unsigned status() const noexcept { return status_; }
  const field_list& fields() const noexcept { return fields_; }
  std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
  bool body_done() const noexcept { return done_; }

  // Up to buf.size() (> 0) body bytes, waiting at most `timeout` for the
  // first; 0 once the body is complete. Errors: read_timeout (the stream is
  // then reset), connection_closed (reset by the upstream, connection lost),
  // protocol_error.
  [[nodiscard]] boost::asio::awaitable<result<std::size_t>> read_body(std::span<std::byte> buf,
                                                                      std::chrono::milliseconds timeout);

 private:
  std::shared_ptr<h2_session> session_;
  std::shared_ptr<h2_stream_state> state_;
  unsigned status_ = 0;
  field_list fields_;
  std::optional<std::uint64_t> content_length_;
  bool done_ = false;
};

// What exchange() came back with: a stream whose response head arrived, or
// an error, `unprocessed` telling that the upstream never acted on the
// request (safe and worth sending again on another connection).
struct h2_outcome {
  std::unique_ptr<h2_stream> stream;
  error_code error;
  bool unprocessed = false;
};

class h2_session : public std::enable_shared_from_this<h2_session> {
 public:
  // Most bytes of response header fields accepted on one stream (as the
  // HTTP/1.1 client's max_header_bytes); more fail the stream with protocol_error.
  static constexpr std::size_t max_header_bytes = 64 * 1024;

  h2_session(boost::asio::any_io_executor executor, endpoint ep, h2_windows windows);
  ~h2_session();
  h2_session(const h2_session&) = delete;
  h2_session& operator=(const h2_session&) = delete;

  // Whether a new exchange may start here (fresh, connecting or open). Any thread.
  bool accepts_streams() const noexcept { return accepts_streams_.load(); }

  // Sends one request (`fields`: pseudo-headers first, names lowercase) and
  // waits for its response head: the first caller connects (within
  // `connect_timeout`), later ones wait for that. The head must come within
  // `read_timeout`.
  // Errors: connect_failed, connect_timeout (no stream was opened),
  // read_timeout, connection_closed, protocol_error.
  [[nodiscard]] boost::asio::awaitable<h2_outcome> exchange(field_list fields,
                                                           std::chrono::milliseconds connect_timeout,
                                                           std::chrono::milliseconds read_timeout);

  // Takes no new exchanges and closes the connection once the streams in
  // flight are done. Any thread.
  void close();

 private:
  friend class h2_stream;
  friend struct h2_callbacks;
  enum class phase { fresh, connecting, open, dead };
  struct body_piece {
    result<std::size_t> bytes;
    bool done = false;
  };

  // The *_here coroutines and everything they call run on strand_.
  boost::asio::awaitable<h2_outcome> exchange_here(std::shared_ptr<h2_session> self, field_list fields,
                                                   std::chrono::milliseconds connect_timeout,
                                                   std::chrono::milliseconds read_timeout);
  boost::asio::awaitable<body_piece> read_here(std::shared_ptr<h2_session> self,
                                               std::shared_ptr<h2_stream_state> stream, std::span<std::byte> buf,
                                               std::chrono::milliseconds timeout);
  boost::asio::awaitable<void> establish(std::chrono::milliseconds connect_timeout);
  boost::asio::awaitable<void> read_loop(std::shared_ptr<h2_session> self);
  boost::asio::awaitable<void> write_loop(std::shared_ptr<h2_session> self);
  // Starts the write loop when nghttp2 has frames to send and none runs.
  void flush();
  // Drops a stream its reader no longer wants: RST_STREAM(CANCEL) while it
  // is open, and its unread bytes credited back to the connection.
  void abandon(const std::shared_ptr<h2_stream_state>& stream);
  void go_away();
  void close_if_finished();
  // The connection is gone: every stream still expecting bytes fails with `why`.
  void fail(error_code why);
  std::shared_ptr<h2_stream_state> stream_of(std::int32_t id) const;

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::beast::tcp_stream socket_;
  const endpoint ep_;
  const std::string origin_;  // for log lines
  nghttp2_session* session_ = nullptr;
  phase phase_ = phase::fresh;
  error_code connect_error_;
  std::atomic<bool> accepts_streams_{true};
  bool going_away_ = false;
  bool writing_ = false;
  boost::asio::steady_timer connected_;  // wakes exchanges waiting for the connect
  std::map<std::int32_t, std::shared_ptr<h2_stream_state>> streams_;
  std::vector<std::uint8_t> input_;
  std::vector<std::uint8_t> output_;
};

}  // namespace regcache::upstream::detail
