#include "regcache/auth/audit.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <array>
#include <ctime>

namespace regcache::auth {
namespace {

constexpr std::string_view help = "Access decisions on registry requests (allow, deny: 403, unauthorized: 401)";

std::string utc_time(core::clock::time_point t) {
  const auto ms = core::to_unix_ms(t);
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  std::array<char, 32> text{};
  const auto length = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(text.data(), length) + millis;
}

bool needs_quotes(std::string_view value) {
  return value.empty() || std::any_of(value.begin(), value.end(), [](char c) {
           return c == ' ' || c == '"' || c == '\\' || c == '=' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
         });
}

}  // namespace

audit::audit(sink write, bool json, metrics::registry& registry, const core::clock& clock,
             std::size_t remembered_pulls)
    : write_(std::move(write)),
      json_(json),
      clock_(clock),
      allowed_(registry.get_counter("regcache_access_decisions_total", help, {{"decision", "allow"}})),
      denied_(registry.get_counter("regcache_access_decisions_total", help, {{"decision", "deny"}})),
      unauthorized_(registry.get_counter("regcache_access_decisions_total", help, {{"decision", "unauthorized"}})),
      pulls_(remembered_pulls, std::chrono::hours(24)) {}

void audit::count(std::string_view decision) {
  if (decision == "allow") allowed_.inc();
  else if (decision == "deny") denied_.inc();
  else unauthorized_.inc();
}

std::string audit::format(const audit_event& e) const {
  const std::array<std::pair<std::string_view, std::string_view>, 7> fields{{
      {"decision", e.decision},
      {"identity", e.identity.empty() ? std::string_view("anonymous") : e.identity},
      {"client", e.client},
      {"upstream", e.upstream},
      {"repository", e.repository},
      {"reference", e.reference},
      {"digest", e.digest.empty() ? std::string_view("-") : e.digest},
  }};
  const auto time = utc_time(clock_.now());
  if (json_) {
    boost::json::object line;
    line["time"] = time;
    line["audit"] = "access";
    for (const auto& [key, value] : fields) line[key] = boost::json::string(value);
    return boost::json::serialize(line);
  }
  std::string line = "audit time=" + time;
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    line += needs_quotes(value) ? boost::json::serialize(boost::json::string(value)) : std::string(value);
  }
  return line;
}

void audit::record(const audit_event& event) { write_(format(event)); }

void audit::record_pull(const audit_event& event) {
  std::string key(event.identity);
  key.push_back('\0');
  key += event.digest;
  {
    std::lock_guard lock(mutex_);
    const auto now = clock_.now();
    if (pulls_.get(key, now)) return;
    pulls_.put(key, true, now);
  }
  record(event);
}

}  // namespace regcache::auth
