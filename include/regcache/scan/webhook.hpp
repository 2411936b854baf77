#pragma once
// The scan webhook (scan.webhook), docs/PROTOCOL.md "Scan webhook":
//
//   POST <url>   Content-Type: application/json
//                {"image": "registry/repository@digest", "digest": "sha256:…",
//                 "pull_url": "<REGCACHE_PULL_URL>"}
//   200 {"verdict": "pass"|"fail"|"error", "summary": "…", "report": "…"}
//                the verdict now (summary and report optional)
//   202          the verdict comes later: POST /api/v1/scans/<digest> on the
//                admin API with the same JSON, within scan.timeout
//   anything else, no answer within the timeout, or a body that does not
//   parse → the verdict is error
//
// https:// URLs are verified against the system's CAs with the host name.
#include "regcache/core/result.hpp"
#include "regcache/scan/command_runner.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace regcache::scan {

struct webhook_request {
  std::string image;
  std::string digest;
  std::string pull_url;
};

struct webhook_reply {
  bool later = false;  // 202: the verdict comes through the admin API
  scan_outcome outcome;
};

// Sends the request on the calling coroutine's executor; the whole exchange
// takes at most `timeout`. Never fails: a failure is an error verdict.
boost::asio::awaitable<webhook_reply> post_webhook(std::string url, webhook_request request,
                                                   std::chrono::milliseconds timeout);

// A verdict as JSON (the webhook's 200 body, the admin API's POST body).
// errc::webhook_failed when it is not an object with a known verdict.
[[nodiscard]] result<scan_outcome> parse_verdict(std::string_view json);

}  // namespace regcache::scan
