#include "regcache/metrics/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <variant>

namespace regcache::metrics {
namespace {

std::vector<double> normalize_bounds(std::vector<double> bounds) {
  for (const double b : bounds) {
    if (std::isnan(b)) throw std::invalid_argument("histogram bucket bound is NaN");
  }
  std::erase(bounds, std::numeric_limits<double>::infinity());
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  return bounds;
}

bool is_metric_name(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool is_label_name(std::string_view s) {
  if (s.empty() || s.starts_with("__")) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

void append_escaped_label_value(std::string& out, std::string_view v) {
  for (const char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

void append_escaped_help(std::string& out, std::string_view v) {
  for (const char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// Shortest text that reads back as the same double, with Prometheus' spelling
// of the special values.
void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
  }
}

// The series key and its exposition: `a="x",b="y"`, sorted by label name.
// Unambiguous because names cannot hold '=' or '"' and values are escaped.
std::string render_labels(const labels& l, bool histogram) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(l.size());
  for (const auto& p : l) {
    if (!is_label_name(p.first)) throw std::invalid_argument("invalid metric label name: " + p.first);
    if (histogram && p.first == "le")
      throw std::invalid_argument("label name \"le\" is reserved for histogram buckets");
    sorted.push_back(&p);
  }
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  std::string out;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) {
      if (sorted[i]->first == sorted[i - 1]->first)
        throw std::invalid_argument("metric label given twice: " + sorted[i]->first);
      out += ',';
    }
    out += sorted[i]->first;
    out += "=\"";
    append_escaped_label_value(out, sorted[i]->second);
    out += '"';
  }
  return out;
}

}  // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(normalize_bounds(std::move(bounds))),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void histogram::observe(double value) noexcept {
  if (std::isnan(value)) return;
  const auto i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::uint64_t histogram::count() const noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) total += buckets_[i].load(std::memory_order_relaxed);
  return total;
}

struct registry::family {
  using metric = std::variant<counter, gauge, histogram>;

  kind type;
  std::string help;
  std::vector<double> bounds;  // histograms only
  // Keyed by render_labels(); unique_ptr keeps handed-out addresses stable.
  std::map<std::string, std::unique_ptr<metric>, std::less<>> series;
};

registry::registry() = default;
registry::~registry() = default;

template <class Metric>
Metric& registry::find_or_create(std::string_view name, std::string_view help, kind k, const labels& l,
                                 const std::vector<double>& bounds) {
  if (!is_metric_name(name)) throw std::invalid_argument("invalid metric name: " + std::string(name));
  std::string key = render_labels(l, k == kind::histogram);

  auto it = families_.find(name);
  if (it == families_.end()) {
    auto f = std::make_unique<family>();
    f->type = k;
    f->help = std::string(help);
    f->bounds = bounds;
    it = families_.emplace(std::string(name), std::move(f)).first;
  }
  family& f = *it->second;
  if (f.type != k)
    throw std::invalid_argument("metric " + std::string(name) + " is already registered as another type");
  if (k == kind::histogram && f.bounds != bounds)
    throw std::invalid_argument("histogram " + std::string(name) + " is already registered with other buckets");

  auto s = f.series.find(key);
  if (s == f.series.end()) {
    std::unique_ptr<family::metric> m;
    if constexpr (std::is_same_v<Metric, histogram>) {
      m = std::make_unique<family::metric>(std::in_place_type<histogram>, bounds);
    } else {
      m = std::make_unique<family::metric>(std::in_place_type<Metric>);
    }
    s = f.series.emplace(std::move(key), std::move(m)).first;
  }
  return std::get<Metric>(*s->second);
}

counter& registry::get_counter(std::string_view name, std::string_view help, const labels& l) {
  const std::lock_guard lock(mutex_);
  return find_or_create<counter>(name, help, kind::counter, l, {});
}

gauge& registry::get_gauge(std::string_view name, std::string_view help, const labels& l) {
  const std::lock_guard lock(mutex_);
  return find_or_create<gauge>(name, help, kind::gauge, l, {});
}

histogram& registry::get_histogram(std::string_view name, std::string_view help, std::vector<double> buckets,
                                   const labels& l) {
  const auto bounds = normalize_bounds(std::move(buckets));
  const std::lock_guard lock(mutex_);
  return find_or_create<histogram>(name, help, kind::histogram, l, bounds);
}

void registry::add_collector(std::function<void(registry&)> fn) {
  const std::lock_guard lock(scrape_mutex_);
  collectors_.push_back(std::move(fn));
}

std::string registry::expose() {
  // Collectors run before mutex_ is taken: they call get_gauge(), which takes it.
  const std::lock_guard scrape(scrape_mutex_);
  for (const auto& collect : collectors_) collect(*this);

  const std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped_help(out, f->help);
    out += "\n# TYPE ";
    out += name;
    out += f->type == kind::counter ? " counter\n" : f->type == kind::gauge ? " gauge\n" : " histogram\n";

    for (const auto& [key, m] : f->series) {
      const std::string braced = key.empty() ? std::string() : "{" + key + "}";
      if (const auto* c = std::get_if<counter>(m.get())) {
        out += name + braced + ' ' + std::to_string(c->value()) + '\n';
      } else if (const auto* g = std::get_if<gauge>(m.get())) {
        out += name + braced + ' ' + std::to_string(g->value()) + '\n';
      } else {
        const auto& h = std::get<histogram>(*m);
        const auto counts = h.cumulative_counts();
        const std::string le_prefix = name + "_bucket{" + key + (key.empty() ? "le=\"" : ",le=\"");
        for (std::size_t i = 0; i < counts.size(); ++i) {
          out += le_prefix;
          append_double(out, i < h.bounds().size() ? h.bounds()[i] : std::numeric_limits<double>::infinity());
          out += "\"} " + std::to_string(counts[i]) + '\n';
        }
        out += name + "_sum" + braced + ' ';
        append_double(out, h.sum());
        out += '\n';
        out += name + "_count" + braced + ' ' + std::to_string(counts.back()) + '\n';
      }
    }
  }
  return out;
}

}  // namespace regcache::metrics
