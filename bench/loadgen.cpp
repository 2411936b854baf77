// loadgen: a small epoll HTTP/1.1 load generator for bench/bench.py.
//
//   loadgen --port P --path /v2/x/manifests/latest [--host 127.0.0.1]
//           [--method GET|HEAD] [-H 'Accept: ...']... [-c CONNS] [-t THREADS]
//           [--duration SEC | --requests N] [--warmup SEC]
//           [--expect-status 200] [--expect-length BYTES] [--sink read|splice]
//           [--mode load|ttfb] [--tls]
//
// mode load (default): C keep-alive connections spread over T threads, each
//   sends the request again as soon as the previous response is complete, for
//   --duration seconds (after --warmup seconds that are not counted) or until
//   --requests responses arrived.  Latency = request written .. last body byte.
// mode ttfb: C connections are opened first, then all threads meet at a
//   barrier and every connection sends one request at the same instant.
//   Reports, per connection, time to the first body byte and to the last one.
//
// Output: one JSON line on stdout.  Diagnostics on stderr.  Exit status 0 if
// the run completed (errors are counted in the JSON), 2 on bad usage, 3 on a
// response this tool refuses to parse (chunked encoding, no Content-Length).
//
// --tls (load mode, --sink read): HTTPS on the same non-blocking connections
//   (ALPN http/1.1, certificates not verified); the handshake is not part of
//   any request's latency.
//
// Bodies are counted and discarded.  --sink splice moves them socket -> pipe
// -> /dev/null with splice(2) (no copy into user space), so the client costs
// as little CPU as possible; --sink read (default) recv()s into a scratch
// buffer like a normal client.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <bit>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Ns = std::int64_t;

Ns now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

[[noreturn]] void die(const char* fmt, const char* arg = "") {
    std::fprintf(stderr, "loadgen: ");
    std::fprintf(stderr, fmt, arg);
    std::fprintf(stderr, "\n");
    std::exit(2);
}

[[noreturn]] void refuse(const std::string& why) {
    std::fprintf(stderr, "loadgen: FATAL: %s\n", why.c_str());
    std::exit(3);
}

// --- latency histogram: log-linear, ~1.6% resolution, nanoseconds ----------
class Histogram {
public:
    static constexpr int kSub = 64;  // sub-buckets per power of two
    static constexpr int kBuckets = 2 * kSub + 64 * kSub;

    void record(Ns v) {
        if (v < 0) v = 0;
        ++counts_[index(static_cast<std::uint64_t>(v))];
        ++n_;
        sum_ += static_cast<double>(v);
        max_ = std::max<Ns>(max_, v);
    }
    void merge(const Histogram& o) {
        for (int i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
        n_ += o.n_;
        sum_ += o.sum_;
        max_ = std::max(max_, o.max_);
    }
    std::uint64_t count() const { return n_; }
    Ns max() const { return max_; }
    double mean() const { return n_ ? sum_ / static_cast<double>(n_) : 0.0; }
    // Value at quantile q (0..1): the middle of the bucket holding it.
    double quantile(double q) const {
        if (n_ == 0) return 0;
        auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(n_)));
        rank = std::clamp<std::uint64_t>(rank, 1, n_);
        std::uint64_t seen = 0;
        for (int i = 0; i < kBuckets; ++i) {
            seen += counts_[i];
            if (seen >= rank) {
                double lo = static_cast<double>(lower(i)), hi = static_cast<double>(lower(i + 1));
                return std::min((lo + hi) / 2, static_cast<double>(max_));
            }
        }
        return static_cast<double>(max_);
    }

private:
    static int index(std::uint64_t v) {
        if (v < 2 * kSub) return static_cast<int>(v);
        int shift = std::bit_width(v) - 7;  // v >> shift in [64, 127]
        return 2 * kSub + (shift - 1) * kSub + static_cast<int>((v >> shift) - kSub);
    }
    static std::uint64_t lower(int i) {
        if (i < 2 * kSub) return static_cast<std::uint64_t>(i);
        int shift = (i - 2 * kSub) / kSub + 1;
        std::uint64_t m = static_cast<std::uint64_t>((i - 2 * kSub) % kSub + kSub);
        return m << shift;
    }
    std::vector<std::uint64_t> counts_ = std::vector<std::uint64_t>(kBuckets + 1, 0);
    std::uint64_t n_ = 0;
    double sum_ = 0;
    Ns max_ = 0;
};

// --- options -----------------------------------------------------------------
struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    std::string path;
    std::string method = "GET";
    std::vector<std::string> headers;
    int connections = 1;
    int threads = 1;
    double duration = 0;    // seconds, 0 = not set
    std::int64_t requests = 0;  // 0 = not set
    double warmup = 0;
    int expect_status = 0;  // 0 = any 2xx
    std::int64_t expect_length = -1;
    bool splice_sink = false;
    bool ttfb = false;
    double timeout = 60;    // ttfb / request-count mode: give up after this
    bool tls = false;
};

void usage() {
    std::fprintf(stderr,
        "usage: loadgen --port P --path PATH [--host H] [--method GET|HEAD] [-H 'Name: value']...\n"
        "               [-c CONNS] [-t THREADS] [--duration SEC | --requests N] [--warmup SEC]\n"
        "               [--expect-status N] [--expect-length BYTES] [--sink read|splice]\n"
        "               [--mode load|ttfb] [--timeout SEC] [--tls]\n");
    std::exit(2);
}

Options parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value for %s", a.c_str());
            return argv[++i];
        };
        if (a == "--host") o.host = val();
        else if (a == "--port" || a == "-p") o.port = std::atoi(val().c_str());
        else if (a == "--path") o.path = val();
        else if (a == "--method" || a == "-m") o.method = val();
        else if (a == "-H" || a == "--header") o.headers.push_back(val());
        else if (a == "-c" || a == "--connections") o.connections = std::atoi(val().c_str());
        else if (a == "-t" || a == "--threads") o.threads = std::atoi(val().c_str());
        else if (a == "-d" || a == "--duration") o.duration = std::atof(val().c_str());
        else if (a == "-n" || a == "--requests") o.requests = std::atoll(val().c_str());
        else if (a == "--warmup") o.warmup = std::atof(val().c_str());
        else if (a == "--expect-status") o.expect_status = std::atoi(val().c_str());
        else if (a == "--expect-length") o.expect_length = std::atoll(val().c_str());
        else if (a == "--timeout") o.timeout = std::atof(val().c_str());
        else if (a == "--sink") {
            std::string s = val();
            if (s == "splice") o.splice_sink = true;
            else if (s != "read") die("--sink must be read or splice");
        } else if (a == "--mode") {
            std::string s = val();
            if (s == "ttfb") o.ttfb = true;
            else if (s != "load") die("--mode must be load or ttfb");
        } else if (a == "--tls") o.tls = true;
        else if (a == "-h" || a == "--help") usage();
        else die("unknown argument %s", a.c_str());
    }
    if (o.port <= 0 || o.path.empty() || o.path[0] != '/') usage();
    if (o.method != "GET" && o.method != "HEAD") die("--method must be GET or HEAD");
    if (o.connections < 1 || o.threads < 1) die("-c and -t must be >= 1");
    o.threads = std::min(o.threads, o.connections);
    if (!o.ttfb && o.duration <= 0 && o.requests <= 0) die("give --duration or --requests");
    if (o.tls && (o.ttfb || o.splice_sink)) die("--tls needs --mode load and --sink read");
    return o;
}

// --- per-connection state ------------------------------------------------------
enum class St { Connecting, Handshaking, Writing, Headers, Body, Done, Closed };

struct Conn {
    int fd = -1;
    SSL* ssl = nullptr;           // with --tls, once the TCP connection is up
    St st = St::Closed;
    std::size_t written = 0;
    std::string hdr;              // response header bytes accumulated so far
    std::int64_t body_left = 0;
    std::int64_t body_total = 0;
    bool close_after = false;
    int status = 0;
    Ns t_start = 0;               // request write began
    Ns t_first_body = 0;
    Ns t_done = 0;
};

struct Stats {
    Histogram hist;
    std::uint64_t requests = 0;       // completed in the measured window
    std::uint64_t requests_all = 0;   // completed at all
    std::uint64_t body_bytes = 0;     // body bytes received in the window
    std::uint64_t errors_connect = 0, errors_io = 0, errors_status = 0, errors_length = 0;
    std::map<int, std::uint64_t> status;
    // ttfb mode
    std::vector<double> ttfb_ms, total_ms;
};

struct Shared {
    const Options* opt;
    sockaddr_in addr{};
    std::string request;
    Ns t_begin = 0, t_window = 0, t_end = 0;  // load mode
    std::atomic<std::int64_t> issued{0};      // request-count mode
    std::atomic<std::int64_t> completed{0};
};

// One thread's share of the connections on one epoll instance: connect (and
// the TLS handshake), send the request, parse the response head, count body
// bytes and finished responses in the measured window.
class Worker {
public:
    // tls: the client context with --tls, nullptr for plain HTTP.
    Worker(Shared& sh, int nconns, SSL_CTX* tls) : sh_(sh), conns_(nconns), tls_(tls) {
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) die("epoll_create1: %s", std::strerror(errno));
        scratch_.resize(sh.opt->ttfb ? 64 * 1024 : 256 * 1024);
        if (sh.opt->splice_sink) {
            if (pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0) die("pipe2: %s", std::strerror(errno));
            fcntl(pipe_[1], F_SETPIPE_SZ, 1 << 20);
            devnull_ = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (devnull_ < 0) die("open /dev/null: %s", std::strerror(errno));
        }
    }
    ~Worker() {
        for (auto& c : conns_) close_conn(c);
        ::close(ep_);
        if (pipe_[0] >= 0) { ::close(pipe_[0]); ::close(pipe_[1]); ::close(devnull_); }
    }

    Stats stats;

    // Load mode: run until t_end (or the request budget is spent).
    void run_load() {
        for (std::size_t i = 0; i < conns_.size(); ++i) start_connect(i);
        epoll_event evs[256];
        for (;;) {
            Ns now = now_ns();
            if (sh_.opt->duration > 0 && now >= sh_.t_end) break;
            if (sh_.opt->requests > 0 && sh_.completed.load() >= sh_.opt->requests) break;
            if (sh_.opt->requests > 0 && now >= sh_.t_end) break;  // timeout
            if (active() == 0) break;
            int timeout_ms = static_cast<int>(std::clamp<Ns>((sh_.t_end - now) / 1000000 + 1, 1, 50));
            int n = epoll_wait(ep_, evs, 256, timeout_ms);
            if (n < 0) {
                if (errno == EINTR) continue;
                die("epoll_wait: %s", std::strerror(errno));
            }
            for (int k = 0; k < n; ++k) handle(evs[k].data.u32, evs[k].events);
        }
    }

    // ttfb mode: connect every connection synchronously.
    void connect_all() {
        for (std::size_t i = 0; i < conns_.size(); ++i) {
            Conn& c = conns_[i];
            c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<const sockaddr*>(&sh_.addr), sizeof sh_.addr) != 0)
                die("connect: %s", std::strerror(errno));
            int one = 1;
            setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u32 = static_cast<std::uint32_t>(i);
            epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
            c.st = St::Writing;
        }
    }

    // ttfb mode, after the barrier: send every request now, wait for all.
    void run_ttfb(Ns deadline) {
        for (std::size_t i = 0; i < conns_.size(); ++i) begin_request(i);
        epoll_event evs[256];
        while (active() > 0 && now_ns() < deadline) {
            int n = epoll_wait(ep_, evs, 256, 50);
            if (n < 0) {
                if (errno == EINTR) continue;
                die("epoll_wait: %s", std::strerror(errno));
            }
            for (int k = 0; k < n; ++k) handle(evs[k].data.u32, evs[k].events);
        }
        for (auto& c : conns_) {
            if (c.st == St::Done) {
                stats.ttfb_ms.push_back(c.t_first_body ? (c.t_first_body - c.t_start) / 1e6 : -1);
                stats.total_ms.push_back((c.t_done - c.t_start) / 1e6);
            } else {
                stats.ttfb_ms.push_back(-1);
                stats.total_ms.push_back(-1);
            }
        }
    }

private:
    bool in_window(Ns t) const { return sh_.opt->ttfb || (t >= sh_.t_window && t <= sh_.t_end); }


    void consume_body(Conn& c, std::int64_t n) {
        Ns t = now_ns();
        if (c.t_first_body == 0) c.t_first_body = t;
        c.body_left -= n;
        if (in_window(t)) stats.body_bytes += static_cast<std::uint64_t>(n);
    }

    static bool iequals(std::string_view a, std::string_view b) {
        if (a.size() != b.size()) return false;
        for (std::size_t k = 0; k < a.size(); ++k)
            if (std::tolower(static_cast<unsigned char>(a[k])) != std::tolower(static_cast<unsigned char>(b[k]))) return false;
        return true;
    }

    void parse_head(Conn& c, std::string_view head) {
        // Status line: HTTP/1.x SSS reason
        std::size_t eol = head.find("\r\n");
        std::string_view line = head.substr(0, eol);
        if (line.size() < 12 || line.substr(0, 7) != "HTTP/1.")
            refuse("bad status line: " + std::string(line.substr(0, 80)));
        c.status = std::atoi(std::string(line.substr(9, 3)).c_str());
        bool http10 = line[7] == '0';
        std::int64_t length = -1;
        bool chunked = false, conn_close = http10, keep_alive = false;
        std::size_t pos = eol + 2;
        while (pos < head.size()) {
            std::size_t e = head.find("\r\n", pos);
            if (e == std::string_view::npos || e == pos) break;
            std::string_view h = head.substr(pos, e - pos);
            pos = e + 2;
            std::size_t colon = h.find(':');
            if (colon == std::string_view::npos) continue;
            std::string_view name = h.substr(0, colon), value = h.substr(colon + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
            if (iequals(name, "content-length")) length = std::atoll(std::string(value).c_str());
            else if (iequals(name, "transfer-encoding")) chunked = !iequals(value, "identity");
            else if (iequals(name, "connection")) {
                if (iequals(value, "close")) conn_close = true;
                else if (iequals(value, "keep-alive")) keep_alive = true;
            }
        }
        if (http10 && keep_alive) conn_close = false;
        c.close_after = conn_close;
        bool no_body = sh_.opt->method == "HEAD" || c.status == 204 || c.status == 304 || (c.status >= 100 && c.status < 200);
        if (c.status >= 100 && c.status < 200) refuse("1xx interim responses are not supported");
        if (no_body) {
            c.body_left = 0;
        } else if (chunked) {
            refuse("chunked transfer-encoding in response to " + sh_.opt->method + " " + sh_.opt->path +
                   " (status " + std::to_string(c.status) + "): not supported by loadgen");
        } else if (length < 0) {
            refuse("response without Content-Length (status " + std::to_string(c.status) + ")");
        } else {
            c.body_left = length;
        }
        c.body_total = no_body ? length : c.body_left;
    }

    void count_response(Conn& c) {
        Ns t = now_ns();
        c.t_done = t;
        bool counted = in_window(t);
        ++stats.requests_all;
        sh_.completed.fetch_add(1);
        if (counted) {
            ++stats.requests;
            stats.hist.record(t - c.t_start);
            ++stats.status[c.status];
            bool status_ok = sh_.opt->expect_status ? c.status == sh_.opt->expect_status
                                                    : (c.status >= 200 && c.status < 300);
            if (!status_ok) ++stats.errors_status;
            if (sh_.opt->expect_length >= 0 && c.body_total != sh_.opt->expect_length) ++stats.errors_length;
        }
    }

    Shared& sh_;

    std::size_t active() const {
        std::size_t n = 0;
        for (auto& c : conns_) n += (c.st != St::Closed && c.st != St::Done);
        return n;
    }

    void close_conn(Conn& c) {
        if (c.ssl) SSL_free(c.ssl);
        c.ssl = nullptr;
        if (c.fd >= 0) {
            epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
            ::close(c.fd);
        }
        c.fd = -1;
        c.st = St::Closed;
    }

    bool may_issue() {
        if (sh_.opt->requests > 0) return sh_.issued.fetch_add(1) < sh_.opt->requests;
        return now_ns() < sh_.t_end;
    }

    void start_connect(std::size_t i) {
        Conn& c = conns_[i];
        if (!may_issue()) { c.st = St::Closed; return; }
        if (sh_.opt->requests > 0) sh_.issued.fetch_sub(1);  // counted again in begin_request
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) die("socket: %s", std::strerror(errno));
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&sh_.addr), sizeof sh_.addr);
        if (rc != 0 && errno != EINPROGRESS) {
            ++stats.errors_connect;
            ::close(c.fd);
            c.fd = -1;
            c.st = St::Closed;
            return;
        }
        c.st = St::Connecting;
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.u32 = static_cast<std::uint32_t>(i);
        epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    }

    void set_events(Conn& c, std::size_t i, std::uint32_t events) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u32 = static_cast<std::uint32_t>(i);
        epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    }

    // Start a new request on an open connection (or stop it if done).
    void begin_request(std::size_t i) {
        Conn& c = conns_[i];
        if (!sh_.opt->ttfb && !may_issue()) { close_conn(c); return; }
        c.hdr.clear();
        c.written = 0;
        c.body_left = c.body_total = 0;
        c.close_after = false;
        c.status = 0;
        c.t_first_body = 0;
        c.t_start = now_ns();
        c.st = St::Writing;
        write_some(i);
    }

    void write_some(std::size_t i) {
        Conn& c = conns_[i];
        const std::string& r = sh_.request;
        while (c.written < r.size()) {
            ssize_t n = send_some(c, r.data() + c.written, r.size() - c.written);
            if (n > 0) { c.written += static_cast<std::size_t>(n); continue; }
            if (n < 0 && errno == EAGAIN) { set_events(c, i, EPOLLOUT); return; }
            io_error(i);
            return;
        }
        c.st = St::Headers;
        set_events(c, i, EPOLLIN);
    }

    void handshake(std::size_t i) {
        Conn& c = conns_[i];
        const int done = SSL_do_handshake(c.ssl);
        if (done == 1) { begin_request(i); return; }
        const int err = SSL_get_error(c.ssl, done);
        ERR_clear_error();
        if (err == SSL_ERROR_WANT_READ) { set_events(c, i, EPOLLIN); return; }
        if (err == SSL_ERROR_WANT_WRITE) { set_events(c, i, EPOLLOUT); return; }
        ++stats.errors_connect;
        close_conn(c);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        start_connect(i);
    }

    // recv(2) / send(2) semantics over TCP or TLS: > 0 bytes, 0 = closed by
    // the peer (recv), -1 with errno EAGAIN = retry when epoll says so.
    static ssize_t tls_result(SSL* ssl, int n) {
        if (n > 0) return n;
        const int err = SSL_get_error(ssl, n);
        ERR_clear_error();
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        errno = (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) ? EAGAIN : EIO;
        return -1;
    }

    static ssize_t recv_some(Conn& c, char* buf, std::size_t len) {
        if (!c.ssl) return ::recv(c.fd, buf, len, 0);
        return tls_result(c.ssl, SSL_read(c.ssl, buf, static_cast<int>(len)));
    }

    static ssize_t send_some(Conn& c, const char* buf, std::size_t len) {
        if (!c.ssl) return ::send(c.fd, buf, len, MSG_NOSIGNAL);
        return tls_result(c.ssl, SSL_write(c.ssl, buf, static_cast<int>(len)));
    }

    void io_error(std::size_t i) {
        ++stats.errors_io;
        close_conn(conns_[i]);
        if (!sh_.opt->ttfb) start_connect(i);
    }

    void handle(std::uint32_t i, std::uint32_t events) {
        Conn& c = conns_[i];
        if (c.fd < 0) return;
        if (c.st == St::Connecting) {
            if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;  // stale event of a closed fd
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
                ++stats.errors_connect;
                close_conn(c);
                // Back off a little so a dead server does not make us spin.
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                start_connect(i);
                return;
            }
            if (tls_) {
                c.ssl = SSL_new(tls_);
                SSL_set_fd(c.ssl, c.fd);
                SSL_set_tlsext_host_name(c.ssl, "localhost");
                SSL_set_connect_state(c.ssl);
                c.st = St::Handshaking;
                handshake(i);
                return;
            }
            begin_request(i);
            return;
        }
        if (c.st == St::Handshaking) { handshake(i); return; }
        if (c.st == St::Writing) { write_some(i); return; }
        // Reading.  Bounded loop so one fat connection cannot starve the rest;
        // in ttfb mode one read per wakeup, so a first byte is seen promptly.
        // Bytes OpenSSL already decrypted are read on: epoll would not report them.
        const int max_rounds = sh_.opt->ttfb ? 1 : 16;
        for (int rounds = 0; c.fd >= 0 && (c.st == St::Headers || c.st == St::Body) &&
                             (rounds < max_rounds || (c.ssl && SSL_pending(c.ssl) > 0));
             ++rounds) {
            if (c.st == St::Headers) {
                if (!read_headers(i)) return;
            } else {
                if (!read_body(i)) return;
            }
        }
    }

    // Returns false when no more progress is possible right now.
    bool read_headers(std::size_t i) {
        Conn& c = conns_[i];
        char buf[16384];
        ssize_t n = recv_some(c, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) { io_error(i); return false; }
        if (n < 0) return false;
        std::size_t old = c.hdr.size();
        c.hdr.append(buf, static_cast<std::size_t>(n));
        std::size_t from = old >= 3 ? old - 3 : 0;
        std::size_t end = c.hdr.find("\r\n\r\n", from);
        if (end == std::string::npos) {
            if (c.hdr.size() > 65536) refuse("response header larger than 64 KiB");
            return true;
        }
        std::size_t hlen = end + 4;
        parse_head(c, std::string_view(c.hdr).substr(0, hlen));
        std::int64_t extra = static_cast<std::int64_t>(c.hdr.size() - hlen);
        if (extra > c.body_left) refuse("server sent more bytes than the response holds (pipelining not used)");
        c.st = St::Body;
        if (extra > 0) consume_body(c, extra);
        if (c.body_left == 0) { finish(i); return c.fd >= 0 && c.st == St::Headers; }
        return true;
    }

    bool read_body(std::size_t i) {
        Conn& c = conns_[i];
        std::int64_t want = std::min<std::int64_t>(c.body_left, static_cast<std::int64_t>(sh_.opt->splice_sink ? (1 << 20) : scratch_.size()));
        ssize_t n;
        if (sh_.opt->splice_sink) {
            n = ::splice(c.fd, nullptr, pipe_[1], nullptr, static_cast<std::size_t>(want), SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                ssize_t left = n;
                while (left > 0) {
                    ssize_t m = ::splice(pipe_[0], nullptr, devnull_, nullptr, static_cast<std::size_t>(left), SPLICE_F_MOVE);
                    if (m <= 0) die("splice to /dev/null: %s", std::strerror(errno));
                    left -= m;
                }
            }
        } else {
            n = recv_some(c, scratch_.data(), static_cast<std::size_t>(want));
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) { io_error(i); return false; }
        if (n < 0) return false;
        consume_body(c, n);
        if (c.body_left == 0) { finish(i); return c.fd >= 0 && c.st == St::Headers; }
        return true;
    }

    void finish(std::size_t i) {
        Conn& c = conns_[i];
        count_response(c);
        if (sh_.opt->ttfb) {
            c.st = St::Done;
            return;
        }
        if (c.close_after) {
            close_conn(c);
            start_connect(i);
        } else {
            begin_request(i);
        }
    }

    std::vector<Conn> conns_;
    SSL_CTX* tls_;
    int ep_ = -1;
    std::vector<char> scratch_;
    int pipe_[2] = {-1, -1};
    int devnull_ = -1;
};

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string json_str(const std::string& s) {
    std::string o = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\') { o += '\\'; o += ch; }
        else if (static_cast<unsigned char>(ch) < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", ch); o += b; }
        else o += ch;
    }
    return o + "\"";
}

std::string json_list(const std::vector<double>& v) {
    std::string o = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        char b[32];
        std::snprintf(b, sizeof b, "%s%.3f", i ? "," : "", v[i]);
        o += b;
    }
    return o + "]";
}

double median_of(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt = parse_args(argc, argv);
    Shared sh;
    sh.opt = &opt;
    sh.addr.sin_family = AF_INET;
    sh.addr.sin_port = htons(static_cast<std::uint16_t>(opt.port));
    if (inet_pton(AF_INET, opt.host.c_str(), &sh.addr.sin_addr) != 1) die("bad --host %s (IPv4 only)", opt.host.c_str());
    sh.request = opt.method + " " + opt.path + " HTTP/1.1\r\nHost: " + opt.host + ":" + std::to_string(opt.port) +
                 "\r\nUser-Agent: regcache-bench-loadgen\r\n";
    for (auto& h : opt.headers) sh.request += h + "\r\n";
    sh.request += "\r\n";

    std::vector<std::unique_ptr<Worker>> workers;
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> tls_context(nullptr, SSL_CTX_free);
    if (opt.tls) {
        tls_context.reset(SSL_CTX_new(TLS_client_method()));
        static const unsigned char alpn[] = "\x08http/1.1";
        SSL_CTX_set_alpn_protos(tls_context.get(), alpn, sizeof alpn - 1);
    }
    for (int t = 0; t < opt.threads; ++t) {
        int n = opt.connections / opt.threads + (t < opt.connections % opt.threads ? 1 : 0);
        workers.push_back(std::make_unique<Worker>(sh, n, tls_context.get()));
    }

    double cpu0 = cpu_seconds();
    Ns wall0 = now_ns();
    std::vector<std::thread> threads;
    Ns window_ns = 0;

    if (opt.ttfb) {
        for (auto& w : workers) w->connect_all();
        std::barrier sync(static_cast<std::ptrdiff_t>(workers.size()));
        Ns deadline = now_ns() + static_cast<Ns>(opt.timeout * 1e9);
        for (auto& w : workers)
            threads.emplace_back([&, wp = w.get()] {
                sync.arrive_and_wait();
                wp->run_ttfb(deadline);
            });
        for (auto& th : threads) th.join();
        window_ns = now_ns() - wall0;
    } else {
        sh.t_begin = now_ns();
        sh.t_window = sh.t_begin + static_cast<Ns>(opt.warmup * 1e9);
        double run = opt.duration > 0 ? opt.warmup + opt.duration : opt.timeout;
        sh.t_end = sh.t_begin + static_cast<Ns>(run * 1e9);
        for (auto& w : workers) threads.emplace_back([wp = w.get()] { wp->run_load(); });
        for (auto& th : threads) th.join();
        Ns stop = std::min(now_ns(), sh.t_end);
        window_ns = std::max<Ns>(1, stop - sh.t_window);
    }
    double wall = (now_ns() - wall0) / 1e9;
    double cpu = cpu_seconds() - cpu0;

    Stats total;
    for (auto& w : workers) {
        Stats& s = w->stats;
        total.hist.merge(s.hist);
        total.requests += s.requests;
        total.requests_all += s.requests_all;
        total.body_bytes += s.body_bytes;
        total.errors_connect += s.errors_connect;
        total.errors_io += s.errors_io;
        total.errors_status += s.errors_status;
        total.errors_length += s.errors_length;
        for (auto& [k, v] : s.status) total.status[k] += v;
        total.ttfb_ms.insert(total.ttfb_ms.end(), s.ttfb_ms.begin(), s.ttfb_ms.end());
        total.total_ms.insert(total.total_ms.end(), s.total_ms.begin(), s.total_ms.end());
    }
    double secs = window_ns / 1e9;
    std::string st = "{";
    bool first = true;
    for (auto& [k, v] : total.status) {
        st += (first ? "" : ",") + std::string("\"") + std::to_string(k) + "\":" + std::to_string(v);
        first = false;
    }
    st += "}";
    const Histogram& h = total.hist;
    std::printf(
        "{\"mode\":%s,\"method\":%s,\"path\":%s,\"connections\":%d,\"threads\":%d,\"sink\":%s,"
        "\"seconds\":%.4f,\"requests\":%" PRIu64 ",\"requests_all\":%" PRIu64 ",\"rps\":%.1f,"
        "\"bytes\":%" PRIu64 ",\"throughput_Bps\":%.1f,"
        "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f},"
        "\"errors\":{\"connect\":%" PRIu64 ",\"io\":%" PRIu64 ",\"status\":%" PRIu64 ",\"length\":%" PRIu64 ",\"total\":%" PRIu64 "},"
        "\"status\":%s,\"cpu_s\":%.3f,\"wall_s\":%.3f,\"cpu_util\":%.3f",
        json_str(opt.ttfb ? "ttfb" : "load").c_str(), json_str(opt.method).c_str(), json_str(opt.path).c_str(),
        opt.connections, opt.threads, json_str(opt.splice_sink ? "splice" : "read").c_str(), secs, total.requests,
        total.requests_all, total.requests / secs, total.body_bytes, total.body_bytes / secs,
        h.quantile(0.5) / 1e3, h.quantile(0.9) / 1e3, h.quantile(0.99) / 1e3, h.quantile(0.999) / 1e3,
        static_cast<double>(h.max()) / 1e3, h.mean() / 1e3, total.errors_connect, total.errors_io, total.errors_status,
        total.errors_length, total.errors_connect + total.errors_io + total.errors_status + total.errors_length,
        st.c_str(), cpu, wall, wall > 0 ? cpu / wall : 0.0);
    if (opt.ttfb) {
        std::vector<double> ok_ttfb, ok_total;
        for (std::size_t k = 0; k < total.ttfb_ms.size(); ++k)
            if (total.total_ms[k] >= 0) { ok_ttfb.push_back(total.ttfb_ms[k]); ok_total.push_back(total.total_ms[k]); }
        auto mx = [](const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); };
        std::printf(",\"completed\":%zu,\"ttfb_ms\":%s,\"total_ms\":%s,\"ttfb_median_ms\":%.3f,\"ttfb_max_ms\":%.3f,"
                    "\"total_median_ms\":%.3f,\"total_max_ms\":%.3f",
                    ok_total.size(), json_list(total.ttfb_ms).c_str(), json_list(total.total_ms).c_str(),
                    median_of(ok_ttfb), mx(ok_ttfb), median_of(ok_total), mx(ok_total));
    }
    std::printf("}\n");
    return 0;
}
