#include "regcache/cli/commands.hpp"

#include "regcache/core/text.hpp"

#include "regcache/admin/api_json.hpp"
#include "regcache/admin/image_ref.hpp"
#include "regcache/admin/requests.hpp"
#include "regcache/cli/admin_address.hpp"
#include "regcache/cli/admin_client.hpp"
#include "regcache/cli/admin_token.hpp"
#include "regcache/cli/format.hpp"
#include "regcache/cli/progress.hpp"
#include "regcache/core/clock.hpp"
#include "regcache/core/units.hpp"
#include "regcache/kube/workload_images.hpp"
#include "regcache/store/blob_store.hpp"
#include "regcache/store/fsck.hpp"
#include "regcache/store/index.hpp"

#include <boost/asio/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace regcache::cli {
namespace json = boost::json;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

// The fields of a reply, read leniently: a missing or mistyped field reads as
// empty or 0 rather than stopping the output.
std::uint64_t num(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_number()) return 0;
  error_code ec;
  const auto n = v->to_number<std::uint64_t>(ec);
  return ec ? 0 : n;
}
std::int64_t signed_num(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_number()) return 0;
  error_code ec;
  const auto n = v->to_number<std::int64_t>(ec);
  return ec ? 0 : n;
}
std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
bool flag(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}
const json::array& list(const json::object& o, std::string_view key) {
  static const json::array empty;
  const auto* v = o.if_contains(key);
  return v && v->is_array() ? v->as_array() : empty;
}

// The PINNED column of `regcache ls`: "yes", or when the pin expires, and its label.
std::string pin_summary(std::int64_t now, std::int64_t expires_at_ms, const std::string& label) {
  std::string text = expires_at_ms ? format_expiry(now, expires_at_ms) : "yes";
  if (!label.empty()) text += " (" + label + ")";
  return text;
}

// The strings of a reply's array (platforms), joined.
std::string joined(const json::array& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items)
    if (item.is_string()) out += (out.empty() ? "" : std::string(separator)) + std::string(item.as_string());
  return out;
}

std::string short_digest(std::string_view digest) {
  const auto colon = digest.find(':');
  return std::string(colon == std::string_view::npos ? digest : digest.substr(colon + 1, 12));
}

std::int64_t now_ms() { return core::to_unix_ms(core::clock::system().now()); }

bool stdout_is_terminal() { return ::isatty(::fileno(stdout)) == 1; }

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// Query values: everything but unreserved characters and the separators of
// image names is %-escaped.
struct common_flags {
  std::string admin;
  std::string admin_token_file;
  std::string config;
  bool json = false;
};

void add_common(CLI::App* cmd, common_flags& f) {
  cmd->add_option("--admin", f.admin, "Admin API of the running server, http://HOST:PORT (default: admin.listen)");
  cmd->add_option("--admin-token-file", f.admin_token_file,
                  "File holding the admin API's bearer token (default: $" + std::string(admin_token_variable) +
                      ", else admin.token_file of the config file)");
  cmd->add_option(
      "-c,--config", f.config,
      "Config file to read admin.listen (and storage.root) from (default " + std::string(default_config_file) + ")");
  cmd->add_flag("--json", f.json, "Print the API's JSON instead of text");
}

// One admin call: the reply parsed as a JSON object, or the exit code after
// the failure was printed.
struct call_result {
  std::optional<json::object> reply;
  int exit_code = exit_ok;
};

int report_failure(const admin_client& client, const result<http_reply>& reply) {
  if (!reply) {
    std::fprintf(stderr, "regcache: %s\n", client.unreachable_message(reply.error()).c_str());
    return exit_failed;
  }
  error_code ec;
  auto body = json::parse(reply->body, ec);
  std::string message = !ec && body.is_object() ? str(body.as_object(), "error") : std::string();
  if (message.empty()) message = "the admin API answered " + std::to_string(reply->status);
  if (reply->status == 401)
    message = "not authorized by the admin API at " + client.endpoint().url() + " (401): " + message;
  std::fprintf(stderr, "regcache: %s\n", message.c_str());
  return reply->status == 400 ? exit_usage : exit_failed;
}

call_result call(const admin_client& client, std::string_view method, std::string_view target, std::string body,
                 bool print_json) {
  auto reply = client.request(method, target, std::move(body));
  if (!reply || reply->status >= 300) return {std::nullopt, report_failure(client, reply)};
  error_code ec;
  auto parsed = json::parse(reply->body, ec);
  if (ec || !parsed.is_object()) {
    std::fprintf(stderr, "regcache: the admin API answered something other than a JSON object\n");
    return {std::nullopt, exit_failed};
  }
  if (print_json) std::printf("%s\n", reply->body.c_str());
  return {std::move(parsed.as_object()), exit_ok};
}

json::array string_array(const std::vector<std::string>& items) {
  json::array a;
  for (const auto& i : items) a.emplace_back(i);
  return a;
}

// The text of a manifest file ("-": standard input), at most one byte more
// than kube::max_manifest_bytes (which the parser then refuses).
std::string read_manifests(const std::string& file) {
  std::ifstream opened;
  if (file != "-") {
    opened.open(file, std::ios::binary);
    if (!opened) throw usage_error(file + ": " + std::strerror(errno));
  }
  std::istream& in = file == "-" ? std::cin : opened;
  std::string text(kube::max_manifest_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw usage_error(file + ": reading failed");
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

// `images` and those the Kubernetes manifests in `files` run (-f), each once,
// in order; every image checked, so a typo stops the command before the
// server is asked anything.
std::vector<std::string> images_with_manifests(std::vector<std::string> images, const std::vector<std::string>& files) {
  for (const auto& file : files) {
    const auto name = file == "-" ? std::string("standard input") : file;
    auto uses = kube::workload_images(read_manifests(file));
    if (!uses) throw usage_error(name + ": " + uses.error().message);
    if (uses->empty()) throw usage_error(name + ": no container image in these manifests");
    for (auto& use : *uses) {
      if (auto ref = admin::parse_image_ref(use.image); !ref)
        throw usage_error(name + ": " + use.where + ": " + ref.error().message);
      images.push_back(std::move(use.image));
    }
  }
  std::vector<std::string> unique;
  for (auto& image : images)
    if (std::find(unique.begin(), unique.end(), image) == unique.end()) unique.push_back(std::move(image));
  if (unique.empty()) throw usage_error("name an image, or manifests with -f FILE (- for standard input)");
  return unique;
}

// ---- output of each command ----

void print_images(const json::object& reply) {
  std::vector<std::vector<std::string>> rows;
  const auto now = now_ms();
  for (const auto& item : list(reply, "images")) {
    if (!item.is_object()) continue;
    const auto& i = item.as_object();
    const auto platforms = joined(list(i, "platforms"), ",");
    const auto cached = num(i, "cached_bytes");
    const auto total = num(i, "total_bytes");
    // An image fetched for some platforms only has manifests the cache lacks: its total is unknown.
    std::string size = core::format_bytes(cached);
    if (!flag(i, "complete"))
      size += " (partial)";
    else if (cached != total)
      size += " of " + core::format_bytes(total);
    const auto scan = str(i, "scan");
    rows.push_back({str(i, "image"), short_digest(str(i, "digest")), platforms.empty() ? "-" : platforms, size,
                    format_age(now, signed_num(i, "last_used_ms")),
                    flag(i, "pinned") ? pin_summary(now, signed_num(i, "pin_expires_at_ms"), str(i, "pin_label")) : "",
                    scan.empty() ? "-" : scan});
  }
  if (rows.empty()) {
    std::printf("no images cached\n");
    return;
  }
  std::fputs(
      render_table({{"IMAGE"}, {"DIGEST"}, {"PLATFORMS"}, {"SIZE", true}, {"LAST USED"}, {"PINNED"}, {"SCAN"}}, rows)
          .c_str(),
      stdout);
}

// Every pin (GET /api/v1/pins): pins by digest name images no tag row shows.
void print_pins(const json::object& reply) {
  std::vector<std::vector<std::string>> rows;
  const auto now = now_ms();
  for (const auto& item : list(reply, "pins")) {
    if (!item.is_object()) continue;
    const auto& p = item.as_object();
    const auto platforms = joined(list(p, "platforms"), ",");
    const auto label = str(p, "label");
    rows.push_back({str(p, "image"), short_digest(str(p, "digest")), platforms.empty() ? "all" : platforms,
                    format_age(now, signed_num(p, "pinned_at_ms")),
                    format_expiry(now, signed_num(p, "expires_at_ms")), label.empty() ? "-" : label});
  }
  if (rows.empty()) return;
  std::fputs(render_table({{"PIN"}, {"DIGEST"}, {"PLATFORMS"}, {"PINNED"}, {"EXPIRES"}, {"LABEL"}}, rows).c_str(),
             stdout);
}

void print_repositories(const json::object& reply) {
  std::vector<std::vector<std::string>> rows;
  const auto now = now_ms();
  for (const auto& item : list(reply, "repositories")) {
    if (!item.is_object()) continue;
    const auto& r = item.as_object();
    rows.push_back({str(r, "upstream") + "/" + str(r, "repository"), std::to_string(num(r, "tags")),
                    core::format_bytes(num(r, "cached_bytes")), format_age(now, signed_num(r, "last_used_ms"))});
  }
  if (rows.empty()) {
    std::printf("no images cached\n");
    return;
  }
  std::fputs(render_table({{"REPOSITORY"}, {"TAGS", true}, {"SIZE", true}, {"LAST USED"}}, rows).c_str(), stdout);
}

std::string eviction_summary(const json::object& r) {
  std::string text = "evicted " + plural(num(r, "blobs_evicted"), "blob", "blobs") + " (" +
                     core::format_bytes(num(r, "blob_bytes_evicted")) + "), " +
                     plural(num(r, "manifests_evicted"), "manifest", "manifests") + ", " +
                     plural(num(r, "tags_evicted"), "tag", "tags") + "; usage " +
                     core::format_bytes(num(r, "usage_before")) + " → " + core::format_bytes(num(r, "usage_after")) +
                     " in " + std::to_string(num(r, "took_ms")) + " ms";
  if (num(r, "pinned_bytes_kept") || num(r, "young_bytes_kept"))
    text += "; kept " + core::format_bytes(num(r, "pinned_bytes_kept")) + " pinned, " +
            core::format_bytes(num(r, "young_bytes_kept")) + " used recently";
  return text;
}

void print_stats(const json::object& s) {
  const auto quota = num(s, "quota_bytes");
  std::string last = "none since the server started";
  if (const auto* e = s.if_contains("last_eviction"); e && e->is_object()) last = eviction_summary(e->as_object());
  const std::vector<std::vector<std::string>> rows{
      {"version", str(s, "version")},
      {"cached", core::format_bytes(num(s, "cached_bytes")) + " in " + plural(num(s, "blobs"), "blob", "blobs")},
      {"manifests", std::to_string(num(s, "manifests"))},
      {"tags", std::to_string(num(s, "tags"))},
      {"pins", std::to_string(num(s, "pins"))},
      {"quota", quota ? core::format_bytes(quota) + " (evicts from " +
                            core::format_bytes(num(s, "high_watermark_bytes")) + " down to " +
                            core::format_bytes(num(s, "low_watermark_bytes")) + ")"
                      : "none"},
      {"downloads now", std::to_string(num(s, "fills_in_flight"))},
      {"last eviction", last}};
  std::string out = render_table({{""}, {""}}, rows);
  // The two-column layout needs no header line.
  out.erase(0, out.find('\n') + 1);
  std::fputs(out.c_str(), stdout);
}

// Findings and the summary of a verification; the exit code.
int print_fsck(const json::object& r) {
  const auto& findings = list(r, "findings");
  for (const auto& item : findings) {
    if (!item.is_object()) continue;
    const auto& f = item.as_object();
    const auto what = str(f, "digest").empty() ? str(f, "path") : str(f, "digest");
    std::printf("%-14s %s: %s%s\n", str(f, "problem").c_str(), what.c_str(), str(f, "detail").c_str(),
                flag(f, "removed") ? " (removed)" : "");
  }
  std::printf("checked %s (%s) and %s in %s: ", plural(num(r, "files_checked"), "file", "files").c_str(),
              core::format_bytes(num(r, "bytes_checked")).c_str(),
              plural(num(r, "rows_checked"), "index row", "index rows").c_str(),
              format_eta(std::chrono::seconds(num(r, "took_ms") / 1000)).c_str());
  if (findings.empty()) {
    std::printf("no problems\n");
    return exit_ok;
  }
  std::printf("%s", plural(findings.size(), "problem", "problems").c_str());
  if (flag(r, "dry_run"))
    std::printf(" (dry run: nothing removed)\n");
  else
    std::printf(", removed %s and %s (%s)\n", plural(num(r, "files_removed"), "file", "files").c_str(),
                plural(num(r, "rows_removed"), "row", "rows").c_str(),
                core::format_bytes(num(r, "bytes_removed")).c_str());
  return exit_failed;
}

}  // namespace

struct operator_commands::state {
  common_flags common_ls, common_stats, common_pin, common_unpin, common_prefetch, common_purge, common_gc, common_fsck,
      common_scan;
  bool repositories = false;
  bool only_pins = false;
  std::string unpin_image, purge_image, scan_image;
  std::vector<std::string> pin_images, pin_files, prefetch_files;
  std::string pin_for, pin_label, unpin_label;
  std::vector<std::string> pin_platforms, prefetch_images, prefetch_platforms;
  std::string fsck_data;
  bool fsck_dry_run = false;

  CLI::App* ls = nullptr;
  CLI::App* stats = nullptr;
  CLI::App* pin = nullptr;
  CLI::App* unpin = nullptr;
  CLI::App* prefetch = nullptr;
  CLI::App* purge = nullptr;
  CLI::App* gc = nullptr;
  CLI::App* fsck = nullptr;
  CLI::App* scan = nullptr;

  // The config file is read only when --admin does not say where the server is.
  static cli_settings settings_for(const common_flags& f) {
    return f.admin.empty() ? read_settings(f.config) : cli_settings{};
  }
  static admin_client client_for(const common_flags& f, const cli_settings& settings) {
    return admin_client(resolve_admin(f.admin, settings),
                        resolve_admin_token(f.admin_token_file,
                                            std::getenv(std::string(admin_token_variable).c_str()), settings));
  }
  static admin_client client_for(const common_flags& f) { return client_for(f, settings_for(f)); }

  int run_ls() const {
    if (repositories && only_pins) throw usage_error("ls takes --repositories or --pins, not both");
    const auto client = client_for(common_ls);
    const auto* path = only_pins ? "/api/v1/pins" : repositories ? "/api/v1/repositories" : "/api/v1/images";
    auto r = call(client, "GET", path, {}, common_ls.json);
    if (!r.reply || common_ls.json) return r.exit_code;
    if (only_pins) {
      print_pins(*r.reply);
      return exit_ok;
    }
    if (repositories) {
      print_repositories(*r.reply);
      return exit_ok;
    }
    print_images(*r.reply);
    // Pins with their expiry and label, below the images they keep.
    auto pins = call(client, "GET", "/api/v1/pins", {}, false);
    if (!pins.reply) return pins.exit_code;
    if (!list(*pins.reply, "pins").empty()) std::printf("\n");
    print_pins(*pins.reply);
    return exit_ok;
  }

  int run_stats() const {
    const auto client = client_for(common_stats);
    auto r = call(client, "GET", "/api/v1/stats", {}, common_stats.json);
    if (r.reply && !common_stats.json) print_stats(*r.reply);
    return r.exit_code;
  }

  // The body of POST /api/v1/pins but the image: --platform, --for and --label.
  json::object pin_options() const {
    json::object body{{"platforms", string_array(pin_platforms)}};
    if (!pin_for.empty()) {
      auto lasts = core::parse_duration(pin_for);
      if (!lasts || lasts->count() <= 0)
        throw usage_error("--for " + pin_for + ": not a duration (e.g. 7d, 12h, 1h30m)");
      body["for_ms"] = lasts->count();
    }
    if (!pin_label.empty()) {
      if (auto label = admin::parse_pin_label(pin_label); !label) throw usage_error("--label: " + label.error().message);
      body["label"] = pin_label;
    }
    return body;
  }

  // Pins each image in turn; a failure does not stop the others. Exit code
  // of the worst.
  int run_pin() const {
    const auto images = images_with_manifests(pin_images, pin_files);
    const auto options = pin_options();
    const auto client = client_for(common_pin);
    int worst = exit_ok;
    for (const auto& image : images) {
      auto body = options;
      body["image"] = image;
      worst = std::max(worst, pin_one(client, body));
    }
    return worst;
  }

  int pin_one(const admin_client& client, const json::object& body) const {
    auto r = call(client, "POST", "/api/v1/pins", json::serialize(body), common_pin.json);
    if (r.reply && !common_pin.json) {
      const auto platforms = joined(list(*r.reply, "platforms"), ", ");
      std::string lasting;
      if (const auto expires = signed_num(*r.reply, "expires_at_ms"))
        lasting = ", expires " + format_expiry(now_ms(), expires);
      if (const auto label = str(*r.reply, "label"); !label.empty()) lasting += ", label " + label;
      std::printf("pinned %s (%s), platforms: %s%s\n", str(*r.reply, "image").c_str(),
                  str(*r.reply, "digest").c_str(), platforms.empty() ? "all" : platforms.c_str(), lasting.c_str());
    }
    if (!r.reply) return r.exit_code;
    const auto* fetch = r.reply->if_contains("fetch");
    if (fetch && fetch->is_object() && !str(fetch->as_object(), "error").empty()) {
      std::fprintf(stderr,
                   "regcache: pinned %s, but fetching its content failed: %s (retry with `regcache prefetch`)\n",
                   str(*r.reply, "image").c_str(), str(fetch->as_object(), "error").c_str());
      return exit_failed;
    }
    return r.exit_code;
  }

  int run_unpin() const {
    if (unpin_image.empty() == unpin_label.empty()) throw usage_error("unpin takes an image or --label key=value");
    const auto client = client_for(common_unpin);
    if (!unpin_label.empty()) {
      if (auto label = admin::parse_pin_label(unpin_label); !label)
        throw usage_error("--label: " + label.error().message);
      auto r = call(client, "DELETE", "/api/v1/pins?label=" + core::percent_encode(unpin_label), {},
                    common_unpin.json);
      if (r.reply && !common_unpin.json)
        for (const auto& image : list(*r.reply, "unpinned"))
          if (image.is_string()) std::printf("unpinned %s\n", std::string(image.as_string()).c_str());
      return r.exit_code;
    }
    auto r = call(client, "DELETE", "/api/v1/pins?image=" + core::percent_encode(unpin_image), {}, common_unpin.json);
    if (r.reply && !common_unpin.json) std::printf("unpinned %s\n", str(*r.reply, "unpinned").c_str());
    return r.exit_code;
  }

  int run_purge() const {
    const auto client = client_for(common_purge);
    json::object body{{"image", purge_image}};
    auto r = call(client, "POST", "/api/v1/purge", json::serialize(body), common_purge.json);
    if (r.reply && !common_purge.json)
      std::printf("purged %s: %s, %s, %s (%s)\n", str(*r.reply, "image").c_str(),
                  plural(num(*r.reply, "tags_removed"), "tag", "tags").c_str(),
                  plural(num(*r.reply, "manifests_removed"), "manifest", "manifests").c_str(),
                  plural(num(*r.reply, "blobs_removed"), "blob", "blobs").c_str(),
                  core::format_bytes(num(*r.reply, "bytes_removed")).c_str());
    return r.exit_code;
  }

  // Exit 0 when every scanned manifest passed, 1 otherwise (a fail, an error, no verdict).
  int run_scan() const {
    const auto client = client_for(common_scan);
    json::object body{{"image", scan_image}};
    auto r = call(client, "POST", "/api/v1/scan", json::serialize(body), common_scan.json);
    if (!r.reply) return r.exit_code;
    bool all_passed = true;
    std::vector<std::vector<std::string>> rows;
    for (const auto& item : list(*r.reply, "scans")) {
      if (!item.is_object()) continue;
      const auto& scan = item.as_object();
      all_passed = all_passed && str(scan, "verdict") == "pass";
      rows.push_back({short_digest(str(scan, "digest")), str(scan, "verdict"), str(scan, "summary"),
                      str(scan, "report").empty() ? "-" : str(scan, "report")});
    }
    if (!common_scan.json) {
      std::printf("%s (%s)\n", str(*r.reply, "image").c_str(), str(*r.reply, "digest").c_str());
      std::fputs(render_table({{"MANIFEST"}, {"VERDICT"}, {"SUMMARY"}, {"REPORT"}}, rows).c_str(), stdout);
    }
    return all_passed ? exit_ok : exit_failed;
  }

  int run_gc() const {
    const auto client = client_for(common_gc);
    auto r = call(client, "POST", "/api/v1/gc", {}, common_gc.json);
    if (!r.reply || common_gc.json) return r.exit_code;
    std::printf("%s\n", eviction_summary(*r.reply).c_str());
    if (!flag(*r.reply, "reached_low_watermark") && flag(*r.reply, "below_min_free"))
      std::printf("warning: free space is still below storage.min_free: what is left is pinned or used recently, "
                  "or other files fill the disk\n");
    else if (!flag(*r.reply, "reached_low_watermark"))
      std::printf("warning: usage is still above the low watermark: what is left is pinned or used recently\n");
    return exit_ok;
  }

  int run_prefetch() const {
    const auto client = client_for(common_prefetch);
    const auto images = images_with_manifests(prefetch_images, prefetch_files);
    json::object body{{"images", string_array(images)}, {"platforms", string_array(prefetch_platforms)}};
    const bool as_json = common_prefetch.json;
    const bool terminal = stdout_is_terminal();
    std::optional<progress_reporter> progress;
    std::uint64_t failed = 0;
    bool finished = false;
    const line_handler on_line = [&](std::string_view text) {
      if (as_json) {
        std::printf("%.*s\n", static_cast<int>(text.size()), text.data());
        std::fflush(stdout);
      }
      error_code ec;
      auto value = json::parse(text, ec);
      if (ec || !value.is_object()) return;
      const auto& line = value.as_object();
      const auto event = str(line, "event");
      if (event == "done") {
        finished = true;
        failed = num(line, "failed");
      }
      if (as_json) return;
      if (event == "progress") {
        if (!progress) progress.emplace(stdout, terminal);
        progress->update(num(line, "bytes_done"), num(line, "bytes_total"),
                         str(line, "image") + "  " + std::to_string(num(line, "blobs_done")) + "/" +
                             std::to_string(num(line, "blobs_total")) + " blobs");
      } else if (event == "image_done") {
        progress.reset();
        const auto error = str(line, "error");
        if (error.empty())
          std::printf("ok      %s  %s  %s, fetched %s\n", str(line, "image").c_str(),
                      short_digest(str(line, "digest")).c_str(), core::format_bytes(num(line, "bytes_total")).c_str(),
                      core::format_bytes(num(line, "bytes_fetched")).c_str());
        else
          std::printf("FAILED  %s: %s\n", str(line, "image").c_str(), error.c_str());
      } else if (event == "done") {
        std::printf("done: %s prefetched, %s failed, %s fetched from upstream\n",
                    plural(num(line, "images"), "image", "images").c_str(), std::to_string(failed).c_str(),
                    core::format_bytes(num(line, "bytes_fetched")).c_str());
      }
      std::fflush(stdout);
    };
    auto reply = client.request("POST", "/api/v1/prefetch", json::serialize(body), on_line);
    progress.reset();
    if (!reply || reply->status != 200) return report_failure(client, reply);
    if (!finished) {
      std::fprintf(stderr, "regcache: the server ended the prefetch stream early\n");
      return exit_failed;
    }
    return failed ? exit_failed : exit_ok;
  }

  int run_fsck() const {
    if (!fsck_data.empty()) return fsck_offline(fsck_data);
    const auto settings = settings_for(common_fsck);
    const auto client = client_for(common_fsck, settings);
    const bool as_json = common_fsck.json;
    std::optional<progress_reporter> progress;
    std::optional<json::object> report;
    std::string failure;
    // --json prints the final report alone, as the offline fsck does.
    const line_handler on_line = [&](std::string_view text) {
      error_code ec;
      auto value = json::parse(text, ec);
      if (ec || !value.is_object()) return;
      auto& line = value.as_object();
      const auto event = str(line, "event");
      if (event == "progress" && !as_json) {
        if (!progress) progress.emplace(stdout, stdout_is_terminal());
        progress->update(
            num(line, "bytes_done"), num(line, "bytes_total"),
            std::to_string(num(line, "files_done")) + "/" + std::to_string(num(line, "files_total")) + " files");
      } else if (event == "done") {
        line.erase("event");
        if (line.contains("error"))
          failure = str(line, "error");
        else
          report = std::move(line);
      }
    };
    json::object body{{"dry_run", fsck_dry_run}};
    auto reply = client.request("POST", "/api/v1/verify", json::serialize(body), on_line);
    progress.reset();
    // Only when nothing listens: a server that answered holds the index itself.
    if (!reply && reply.error() == boost::asio::error::connection_refused && settings.storage_root) {
      std::fprintf(stderr, "regcache: no server answers at %s: checking %s offline\n", client.endpoint().url().c_str(),
                   settings.storage_root->string().c_str());
      return fsck_offline(*settings.storage_root);
    }
    if (!reply || reply->status != 200) return report_failure(client, reply);
    if (!failure.empty()) {
      std::fprintf(stderr, "regcache: verification failed: %s\n", failure.c_str());
      return exit_failed;
    }
    if (!report) {
      std::fprintf(stderr, "regcache: the server ended the verification stream early\n");
      return exit_failed;
    }
    if (!as_json) return print_fsck(*report);
    std::printf("%s\n", json::serialize(*report).c_str());
    return flag(*report, "clean") ? exit_ok : exit_failed;
  }

  int fsck_offline(const std::filesystem::path& root) const {
    std::error_code exists_ec;
    // Opening creates what is missing: a mistyped path must not become an empty cache.
    if (!std::filesystem::is_directory(root / "index", exists_ec) ||
        !std::filesystem::is_directory(root / "blobs", exists_ec))
      throw usage_error(root.string() + " is not a regcache data directory (no index/ and blobs/ in it)");
    auto blobs = store::blob_store::open(root);
    if (!blobs) {
      std::fprintf(stderr, "regcache: %s: %s\n", root.string().c_str(), blobs.error().message().c_str());
      return exit_failed;
    }
    auto index = store::index::open(root / "index");
    if (!index) {
      std::fprintf(stderr,
                   "regcache: opening the index in %s: %s (a running server holds it: use fsck without --data to "
                   "verify through its admin API)\n",
                   root.string().c_str(), index.error().message().c_str());
      return exit_failed;
    }
    std::optional<progress_reporter> progress;
    store::fsck_options options;
    options.dry_run = fsck_dry_run;
    // The index is ours alone: no download can be committing a file.
    options.unindexed_grace = std::chrono::seconds(0);
    if (!common_fsck.json) {
      progress.emplace(stdout, stdout_is_terminal());
      options.on_progress = [&progress](const store::fsck_progress& p) {
        progress->update(p.bytes_done, p.bytes_total,
                         std::to_string(p.files_done) + "/" + std::to_string(p.files_total) + " files",
                         p.files_done == p.files_total);
      };
    }
    store::remover remover(**blobs, **index);
    auto report = store::fsck(remover, options);
    progress.reset();
    if (!report) {
      std::fprintf(stderr, "regcache: fsck of %s failed: %s\n", root.string().c_str(),
                   report.error().message().c_str());
      return exit_failed;
    }
    const auto doc = admin::to_json(*report);
    if (common_fsck.json) {
      std::printf("%s\n", json::serialize(doc).c_str());
      return report->clean() ? exit_ok : exit_failed;
    }
    return print_fsck(doc);
  }
};

operator_commands::operator_commands(CLI::App& app) : state_(std::make_unique<state>()) {
  auto& s = *state_;
  s.ls = app.add_subcommand("ls", "List the cached images (tags) with their sizes and last use");
  add_common(s.ls, s.common_ls);
  s.ls->add_flag("-r,--repositories", s.repositories, "One line per repository instead of per tag");
  s.ls->add_flag("--pins", s.only_pins, "Only the pins, with their expiry and label");

  s.stats = app.add_subcommand("stats", "Show cache usage, quota, pins and the last eviction");
  add_common(s.stats, s.common_stats);

  s.pin = app.add_subcommand("pin", "Pin images: eviction never removes them (fetches what is not cached yet)");
  add_common(s.pin, s.common_pin);
  s.pin->add_option("images", s.pin_images, "Images, e.g. alpine:3.20 or ghcr.io/owner/app@sha256:...");
  s.pin->add_option("-f,--filename", s.pin_files,
                    "Kubernetes manifests (YAML, - for standard input) whose images to pin (repeatable)")
      ->allow_extra_args(false);
  s.pin->add_option("--platform", s.pin_platforms, "os/arch[/variant] to protect (repeatable; default all)")
      ->allow_extra_args(false);
  s.pin->add_option("--for", s.pin_for, "Lift the pin after this long, e.g. 7d, 12h (default: never)");
  s.pin->add_option("--label", s.pin_label, "Label the pin key=value, e.g. app=shop (for unpin --label)");

  s.unpin = app.add_subcommand("unpin", "Remove a pin, or every pin with a label");
  add_common(s.unpin, s.common_unpin);
  s.unpin->add_option("image", s.unpin_image, "Image as it was pinned");
  s.unpin->add_option("--label", s.unpin_label, "Remove every pin with this label, e.g. app=shop");

  s.prefetch = app.add_subcommand("prefetch", "Fetch images into the cache before they are pulled");
  add_common(s.prefetch, s.common_prefetch);
  s.prefetch->add_option("images", s.prefetch_images, "Images, e.g. alpine:3.20 nginx");
  s.prefetch->add_option("-f,--filename", s.prefetch_files,
                         "Kubernetes manifests (YAML, - for standard input) whose images to fetch (repeatable)")
      ->allow_extra_args(false);
  s.prefetch->add_option("--platform", s.prefetch_platforms, "os/arch[/variant] to fetch (repeatable; default all)")
      ->allow_extra_args(false);

  s.purge = app.add_subcommand("purge", "Remove an image and the content no other cached image uses");
  add_common(s.purge, s.common_purge);
  s.purge->add_option("image", s.purge_image, "Image, e.g. alpine:3.20")->required();

  s.scan = app.add_subcommand("scan", "Scan an image now with the configured scanner and show the verdict");
  add_common(s.scan, s.common_scan);
  s.scan->add_option("image", s.scan_image, "Image, e.g. alpine:3.20 or ghcr.io/owner/app@sha256:...")->required();

  s.gc = app.add_subcommand("gc", "Run an eviction pass now, down to the low watermark");
  add_common(s.gc, s.common_gc);

  s.fsck = app.add_subcommand("fsck", "Re-hash every cached blob and remove corrupt ones");
  add_common(s.fsck, s.common_fsck);
  s.fsck->add_option("--data", s.fsck_data, "Check this data directory offline (the server must not be running on it)");
  s.fsck->add_flag("--dry-run", s.fsck_dry_run, "Report problems without removing anything");
}

operator_commands::~operator_commands() = default;
operator_commands::operator_commands(operator_commands&&) noexcept = default;
operator_commands& operator_commands::operator=(operator_commands&&) noexcept = default;

std::optional<int> operator_commands::run() const {
  const auto& s = *state_;
  try {
    if (s.ls->parsed()) return s.run_ls();
    if (s.stats->parsed()) return s.run_stats();
    if (s.pin->parsed()) return s.run_pin();
    if (s.unpin->parsed()) return s.run_unpin();
    if (s.prefetch->parsed()) return s.run_prefetch();
    if (s.purge->parsed()) return s.run_purge();
    if (s.gc->parsed()) return s.run_gc();
    if (s.fsck->parsed()) return s.run_fsck();
    if (s.scan->parsed()) return s.run_scan();
  } catch (const usage_error& e) {
    std::fprintf(stderr, "regcache: %s\n", e.what());
    return exit_usage;
  }
  return std::nullopt;
}

}  // namespace regcache::cli
