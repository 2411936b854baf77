#pragma once
// The configuration file (conf/regcache.yaml documents every key) as typed
// structs, and its validation.
//
// Startup order: load_file() (or parse_yaml()) → command-line flags override
// fields → resolve_defaults() → validate(). Every function throws
// config_error; configuration is read at startup only, where exceptions are
// the error model (everywhere else errors are values, core/result.hpp). No
// function keeps state: all are safe to call from any thread on distinct
// objects.
//
// Values in the file:
//   durations  "250ms", "30s", "5m", "1h30m", "7d", or an integer (seconds)
//   sizes      "16KiB", "512KB", "1MiB", or an integer (bytes)
//   booleans   true or false
// Unknown keys are errors, so a misspelt key is never silently ignored.
//
// Error messages name the key path ("server.idle_timeout",
// "upstreams[1].url"), the offending value and what is allowed. They never
// contain credentials: a value is echoed only for keys that cannot hold one,
// and a URL with embedded user:password is rejected without being echoed.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regcache::config {

// server.tls: a TLS listener beside (or instead of) server.listen's plain one.
struct tls_config {
  bool enabled = false;        // the section is given
  std::string listen;          // host:port
  std::string cert_file;       // PEM: the certificate, then its chain
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM CAs that sign client certificates
  std::string client_auth = "none";  // none | optional | require
  std::string min_version = "1.2";   // 1.2 | 1.3
};

// server.http2: HTTP/2 (h2 by ALPN on TLS, h2c by prior knowledge on plain).
struct http2_config {
  bool enabled = true;
  std::uint64_t connection_window = 16 * 1024 * 1024;  // 64KiB-1 .. 2GiB-1
  std::uint64_t stream_window = 4 * 1024 * 1024;       // 64KiB-1 .. 2GiB-1
  std::uint32_t max_concurrent_streams = 128;
  std::uint64_t max_header_list_size = 32 * 1024;  // 1KiB .. 1MiB
  std::uint32_t reset_burst = 1000;
  std::uint32_t reset_rate = 33;  // per second
  std::uint32_t control_frame_burst = 1000;
  std::uint32_t control_frame_rate = 100;  // per second
};

struct server_config {
  // host:port; IPv6 as [::1]:5000; loopback unless told otherwise. Empty: no
  // plain listener (only with server.tls; left out when server.tls is given, it is empty).
  std::string listen = "127.0.0.1:5000";
  tls_config tls;
  http2_config http2;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds header_timeout{10'000};  // the whole request head, from its first byte
  std::chrono::milliseconds read_timeout{30'000};    // a request body
  std::chrono::milliseconds write_timeout{300'000};
  std::size_t max_connections = 4096;
  std::chrono::milliseconds shutdown_grace{30'000};
  unsigned threads = 0;  // 0 = hardware threads
  // Threads that write and hash a download's pieces while the next arrives;
  // 0 = on the download's own I/O thread. Unset ("auto"): 0 with two
  // hardware threads or fewer, else one per hardware thread.
  std::optional<unsigned> hashing_threads;
};

// storage.quota: a fixed size ("50GiB"), or a share of the filesystem that
// holds root ("80%"); resolve_quota() turns either into bytes.
struct quota_config {
  std::uint64_t bytes = 0;         // the size given; 0 when given as a share
  double filesystem_share = 0.80;  // fraction in (0, 1] of the filesystem's size, used when bytes is 0
};

// storage.min_free: the free space eviction keeps on the filesystem that holds
// root, like kubelet's imagefs.available threshold: a size ("5GiB"; 0 = off)
// or a share of the filesystem's size ("10%"); resolve_min_free() turns
// either into bytes.
struct min_free_config {
  std::uint64_t bytes = 0;         // the size given; 0 when given as a share, or off
  double filesystem_share = 0.10;  // fraction in [0, 1) of the filesystem's size, used when bytes is 0
};

// Eviction in the style of kubelet's image GC (cache/evictor.hpp).
struct storage_config {
  std::filesystem::path root = "./data";
  // 80% by default rather than unbounded: a cache must not fill its disk.
  quota_config quota;
  double high_watermark = 0.90;  // fraction of the quota at which eviction starts
  double low_watermark = 0.80;   // fraction of the quota at which it stops; 0 < low < high <= 1
  // 10% by default: a quota given as a share counts the whole filesystem, so
  // on a disk that other files fill too, only this keeps the cache from
  // taking its last room.
  min_free_config min_free;
  std::chrono::milliseconds min_age{600'000};        // content used more recently is not evicted for the quota
  std::chrono::milliseconds max_unused_age{0};       // content unused for longer is evicted anyway; 0 = never
  std::chrono::milliseconds eviction_interval{10'000};  // how often the quota and max_unused_age are checked
};

// The operator's API (pins, gc, inventory), on its own listener.
struct admin_config {
  bool enabled = true;
  std::string listen = "127.0.0.1:5001";  // host:port, not server.listen's address
  // A file holding the bearer token the operator endpoints require (one
  // line); required when listen is not a loopback address.
  std::string token_file;
};

struct prefetch_config {
  std::size_t parallelism = 4;  // blobs downloaded at once by one prefetch
};

// scan: the scan gate (README "Scan gate"). Given (and mode not off), every
// manifest that enters the cache is scanned once by the command or the
// webhook (exactly one of them).
struct scan_config {
  bool enabled = false;               // the section is given
  std::vector<std::string> command;   // argv; command[0] an absolute path to an executable
  std::string webhook;                // http:// or https:// URL the scan request is POSTed to
  std::string mode = "enforce";       // enforce | warn | off
  bool block_until_scanned = true;    // enforce: a manifest without a verdict is not served
  std::size_t parallelism = 2;        // scans at once
  std::chrono::milliseconds timeout{600'000};  // a scan (or a webhook's later verdict) takes at most this
};

struct upstream_config {
  std::string name;  // registry host as clients name it, e.g. docker.io, or 127.0.0.1:5001
  std::string url;   // endpoint, e.g. https://registry-1.docker.io
  std::vector<std::string> aliases;  // further hosts clients use for the same registry
  std::string username;
  std::string password_file;  // file holding the password; read when the upstream is set up
  std::string password_env;   // environment variable holding the password
  std::string ca_file;        // PEM bundle trusted in addition to the system's CAs
  std::string client_cert_file;  // PEM certificate for mutual TLS (with client_key_file)
  std::string client_key_file;
  bool insecure_skip_verify = false;
  bool insecure_http = false;    // required to use an http:// url
  std::chrono::milliseconds max_stale{0};  // 0 = serve a stale tag however old
  std::string on_tag_not_found = "follow";  // follow | serve_cached
  std::chrono::milliseconds tag_ttl{300'000};  // 0 = revalidate a tag on every request
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds read_timeout{30'000};
  std::size_t max_connections = 64;
  // A blob download slower than this on average over any window is aborted
  // (bytes per second; 0 = no floor), as is one that takes longer than
  // size / min_transfer_rate + min_transfer_window.
  std::uint64_t min_transfer_rate = 64 * 1024;
  std::chrono::milliseconds min_transfer_window{30'000};
  bool send_ns = false;  // add ?ns=<name>: the upstream is itself a mirror (another regcache)
  bool h2c = false;      // HTTP/2 cleartext with prior knowledge on one connection (another regcache); http:// only
  bool offline = false;  // serve only from the cache; never contact this upstream
  // Egress lists (oci/repository_glob.hpp patterns): regcache asks this
  // upstream only for repositories that allow_repositories matches (every
  // one when it is left out) and deny_repositories does not.
  std::vector<std::string> allow_repositories;
  std::vector<std::string> deny_repositories;
};

// Who is asking (README "Identities"): users with bcrypt passwords, static
// tokens, groups of identities. Present (even empty) turns access control on.
struct auth_config {
  std::string htpasswd_file;  // htpasswd -B file; empty: no passwords
  std::string tokens_file;    // "<identity> sha256:<hex>" lines; empty: no tokens
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;  // name → identities, in file order
  std::chrono::milliseconds cache_ttl{300'000};  // how long a verified password is trusted; 0 = never cached
  std::size_t cache_entries = 10'000;            // verified passwords kept at most
};

// One entry of `access:` (auth/policy.hpp has the precise semantics).
struct access_rule_config {
  std::string upstream = "*";             // an upstream's name or "*"
  std::vector<std::string> repositories;  // globs: "*" within a segment, "**" any number of segments
  std::vector<std::string> allow;         // subjects: identity, group:<name>, *, anonymous
  std::vector<std::string> deny;
  bool has_allow = false;  // the key was given (exactly one of allow and deny is)
  bool has_deny = false;
};

// One entry of `verify:` (trust/policy.hpp has the precise semantics): the
// signature policy of the repositories it matches.
struct verify_rule_config {
  std::string upstream = "*";             // an upstream's name or "*"
  std::vector<std::string> repositories;  // globs, as in access rules
  std::string mode = "enforce";           // enforce | warn | off
  std::vector<std::string> cosign_keys;   // PEM public key files (cosign.pub)
  std::string notation_trust_store;       // PEM file of the Notary Project root certificates
  bool check_identity = false;            // the cosign payload's docker-reference must name the repository
  bool gate_blobs = true;                 // enforce: a blob only under a manifest that passed on this node
};

struct log_config {
  std::string level = "info";   // trace debug info warn error off
  std::string format = "text";  // text | json
  bool access_log = true;
};

struct metrics_config {
  bool enabled = true;
  std::string path = "/metrics";
};

struct config {
  server_config server;
  storage_config storage;
  std::vector<upstream_config> upstreams;
  std::string default_upstream;  // an upstream's name; empty only without upstreams
  log_config log;
  metrics_config metrics;
  admin_config admin;
  prefetch_config prefetch;
  scan_config scan;
  std::optional<auth_config> auth;
  std::optional<std::vector<access_rule_config>> access;
  std::string default_access;  // allow | deny; empty: deny with access control, else everyone pulls
  std::vector<verify_rule_config> verify;  // first matching rule applies; none: no signature checks
};

// Access control is on when auth, access or default_access is configured;
// without any, everyone pulls everything (as before access control existed).
[[nodiscard]] bool access_control_enabled(const config& cfg) noexcept;

// A configuration that cannot be used, with a message for the operator, e.g.
//   server.idle_timeout: "5x" is not a duration (use e.g. 250ms, 30s, 5m, 1h30m) (line 4, column 17)
class config_error : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// Reads and parses a file; messages are prefixed with its path. Does not validate.
[[nodiscard]] config load_file(const std::filesystem::path& path);

// Parses YAML text; keys left out keep the defaults above, and an empty
// document (or a section given as null) is all defaults. Does not validate.
// Messages of errors in the text end with "(line L, column C)", 1-based.
[[nodiscard]] config parse_yaml(std::string_view text);

// Checks everything parse_yaml cannot (values may also come from flags):
// listen is host:port with port 0-65535 (0: any free port), or empty with
// server.tls; server.tls has listen, cert_file and key_file, client_auth
// none|optional|require (client_ca_file required unless none, and only then),
// min_version 1.2|1.3, and its listen overlaps neither server.listen nor admin.listen; upstream names and aliases are
// non-empty, unique, lowercase registry hosts (host[:port]); url is http:// or
// https:// (lowercase) with a host, an optional path, and no credentials,
// query or fragment; at most one of password_file and password_env, and only
// with username; default_upstream is empty when there are no upstreams, else
// names one (empty is accepted with exactly one upstream, which
// resolve_defaults() picks); timeouts and min_transfer_window are positive and tag_ttl not negative;
// max_connections ≥ 1; max_header_bytes in 1 KiB..1 MiB; log.level and
// log.format are in their sets; metrics.path starts with '/' and is outside /v2;
// storage.quota is more than 0 bytes or a share in (0%, 100%]; storage.min_free
// is a size or a share in (0%, 100%); 0 < low_watermark
// < high_watermark <= 100%; min_age and max_unused_age are not negative and
// eviction_interval is positive; admin.listen is host:port and, when admin is
// enabled, not server.listen's address, and a loopback address unless
// admin.token_file is set; the patterns of allow_repositories and
// deny_repositories parse (oci::repository_glob), and allow_repositories, when
// given, is not empty; prefetch.parallelism ≥ 1; auth.groups
// are named [a-z0-9._-] and list identities; auth.cache_ttl is not negative
// and cache_entries ≥ 1; each access rule names "*" or a configured
// upstream, at least one valid repository glob, and exactly one of allow and
// deny with at least one subject (an identity, *, anonymous, or group:<a
// group of auth.groups>); default_access is empty, allow or deny; scan
// (when given and its mode is not off) has exactly one of command (whose
// first word is an absolute path to an executable file) and webhook (an
// http:// or https:// URL), mode enforce|warn|off, parallelism ≥ 1 and a
// positive timeout; each verify rule names "*" or a configured upstream and
// at least one valid repository glob, mode is enforce|warn|off, and a rule
// that is not off names cosign_keys or a notation_trust_store (the files are
// read by the app at startup, where one that does not load is a
// configuration error too).
void validate(const config& cfg);

// storage.quota in bytes: the size given, or its share of the total size of
// the filesystem holding `root` (which must exist: creating it is the
// caller's job). Throws config_error when that filesystem cannot be measured.
[[nodiscard]] std::uint64_t resolve_quota(const storage_config& storage, const std::filesystem::path& root);
// storage.min_free in bytes, the same way.
[[nodiscard]] std::uint64_t resolve_min_free(const storage_config& storage, const std::filesystem::path& root);

// Fills in what defaults to other values: an empty default_upstream becomes
// the only upstream's name. Safe to call before or after validate().
void resolve_defaults(config& cfg);

// "0.0.0.0:5000" → {"0.0.0.0", 5000}; "[::1]:5000" → {"::1", 5000}. Throws
// config_error when the text is not host:port or the port is outside 0-65535.
[[nodiscard]] std::pair<std::string, std::uint16_t> split_listen(std::string_view listen);

// Whether a listen host ("127.0.0.1", "::1", "localhost") only accepts
// connections from this machine: 127.0.0.0/8, ::1 and localhost. Wildcards
// (0.0.0.0, ::), other addresses and other names are not.
[[nodiscard]] bool is_loopback_host(std::string_view host);

}  // namespace regcache::config
