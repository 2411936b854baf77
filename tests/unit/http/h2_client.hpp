#pragma once
// A blocking HTTP/2 client (nghttp2's client session) for the far end of an
// in_memory_session socketpair: h2c with prior knowledge, as curl
// --http2-prior-knowledge speaks it. Tests submit requests, then run() until
// every stream ended, and look at each stream's status, fields, body and
// RST_STREAM code, and at the GOAWAY the server sent.
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace regcache::http::testing {

class h2_client {
 public:
  struct stream {
    unsigned status = 0;
    std::map<std::string, std::string> fields;
    std::string body;
    bool ended = false;                  // END_STREAM received
    std::optional<std::uint32_t> reset;  // RST_STREAM's error code
    bool closed = false;
  };

  explicit h2_client(boost::asio::local::stream_protocol::socket socket,
                     std::vector<nghttp2_settings_entry> settings = {})
      : socket_(std::move(socket)) {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &h2_client::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &h2_client::on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &h2_client::on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &h2_client::on_close);
    nghttp2_session_client_new(&session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  }
  ~h2_client() { nghttp2_session_del(session_); }
  h2_client(const h2_client&) = delete;
  h2_client& operator=(const h2_client&) = delete;

  // Submits a request; returns its stream id.
  std::int32_t submit(std::string method, std::string path, std::vector<std::pair<std::string, std::string>> fields = {},
                      std::optional<std::string> body = std::nullopt) {
    fields.insert(fields.begin(), {{":method", method}, {":scheme", "http"}, {":authority", "regcache.test"},
                                   {":path", path}});
    std::vector<nghttp2_nv> nv;
    for (auto& [name, value] : fields)
      nv.push_back({reinterpret_cast<std::uint8_t*>(name.data()), reinterpret_cast<std::uint8_t*>(value.data()),
                    name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
    nghttp2_data_provider provider{};
    if (body) {
      bodies_.push_back({std::move(*body), 0});
      provider.source.ptr = &bodies_.back();
      provider.read_callback = &h2_client::read_body;
    }
    const auto id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), body ? &provider : nullptr, this);
    if (id < 0) throw std::runtime_error(nghttp2_strerror(id));
    streams_[id];
    return id;
  }

  // Exchanges frames until every submitted stream closed, or the server
  // closed the connection.
  void run() {
    flush();
    while (!all_closed() && !eof_) read_once();
  }
  // Sends what was submitted and takes in what already arrived, without waiting.
  void run_pending() {
    flush();
    boost::system::error_code ec;
    while (!eof_ && socket_.available(ec) > 0 && !ec) read_once();
  }
  // Reads until the server closes the connection.
  void run_until_closed() {
    flush();
    while (!eof_) read_once();
  }

  const stream& at(std::int32_t id) const { return streams_.at(id); }
  std::optional<std::uint32_t> goaway() const { return goaway_; }
  bool closed_by_server() const { return eof_; }
  nghttp2_session* session() { return session_; }

 private:
  struct body_source {
    std::string bytes;
    std::size_t offset;
  };

  bool all_closed() const {
    for (const auto& [id, s] : streams_)
      if (!s.closed) return false;
    return true;
  }

  void flush() {
    for (;;) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) return;
      boost::system::error_code ec;
      boost::asio::write(socket_, boost::asio::buffer(data, static_cast<std::size_t>(n)), ec);
      if (ec) return;
    }
  }

  void read_once() {
    std::uint8_t buffer[65536];
    boost::system::error_code ec;
    const auto n = socket_.read_some(boost::asio::buffer(buffer), ec);
    if (ec) {
      eof_ = true;
      return;
    }
    if (nghttp2_session_mem_recv(session_, buffer, n) < 0) eof_ = true;
    flush();
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t name_length,
                       const std::uint8_t* value, std::size_t value_length, std::uint8_t, void* self) {
    auto& s = static_cast<h2_client*>(self)->streams_[frame->hd.stream_id];
    const std::string n(reinterpret_cast<const char*>(name), name_length);
    const std::string v(reinterpret_cast<const char*>(value), value_length);
    if (n == ":status") s.status = static_cast<unsigned>(std::stoul(v));
    else s.fields[n] = v;
    return 0;
  }
  static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data, std::size_t length,
                     void* self) {
    static_cast<h2_client*>(self)->streams_[id].body.append(reinterpret_cast<const char*>(data), length);
    return 0;
  }
  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* self) {
    auto* client = static_cast<h2_client*>(self);
    if (frame->hd.type == NGHTTP2_GOAWAY) client->goaway_ = frame->goaway.error_code;
    if (frame->hd.type == NGHTTP2_RST_STREAM) client->streams_[frame->hd.stream_id].reset = frame->rst_stream.error_code;
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
      client->streams_[frame->hd.stream_id].ended = true;
    return 0;
  }
  static int on_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* self) {
    static_cast<h2_client*>(self)->streams_[id].closed = true;
    return 0;
  }
  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length, std::uint32_t* flags,
                           nghttp2_data_source* source, void*) {
    auto& body = *static_cast<body_source*>(source->ptr);
    const auto n = std::min(length, body.bytes.size() - body.offset);
    std::copy_n(body.bytes.data() + body.offset, n, buf);
    body.offset += n;
    if (body.offset == body.bytes.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  boost::asio::local::stream_protocol::socket socket_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, stream> streams_;
  std::deque<body_source> bodies_;  // a deque: the providers point into it
  std::optional<std::uint32_t> goaway_;
  bool eof_ = false;
};

// One frame as bytes: what nghttp2's client would never send.
inline std::string raw_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream_id, std::string_view payload) {
  const auto n = payload.size();
  std::string frame{static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n),
                    static_cast<char>(type),    static_cast<char>(flags),  static_cast<char>(stream_id >> 24),
                    static_cast<char>(stream_id >> 16), static_cast<char>(stream_id >> 8), static_cast<char>(stream_id)};
  frame += payload;
  return frame;
}

// The error code of the first GOAWAY frame in `bytes` (a server's whole output).
inline std::optional<std::uint32_t> goaway_in(std::string_view bytes) {
  auto byte = [&bytes](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])); };
  for (std::size_t at = 0; at + 9 <= bytes.size();) {
    const auto length = (byte(at) << 16) | (byte(at + 1) << 8) | byte(at + 2);
    if (byte(at + 3) == NGHTTP2_GOAWAY && at + 9 + 8 <= bytes.size())
      return (byte(at + 13) << 24) | (byte(at + 14) << 16) | (byte(at + 15) << 8) | byte(at + 16);
    at += 9 + length;
  }
  return std::nullopt;
}

}  // namespace regcache::http::testing
