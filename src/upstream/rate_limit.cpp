#include "regcache/upstream/rate_limit.hpp"

#include "regcache/core/text.hpp"

namespace regcache::upstream {

std::optional<rate_limit_value> parse_rate_limit(std::string_view header) {
  const auto element = header.substr(0, header.find(','));
  const auto first_cut = element.find(';');
  const auto count = core::parse_decimal(core::trim_ows(element.substr(0, first_cut)));
  if (!count) return std::nullopt;
  rate_limit_value out{*count, std::nullopt};
  auto params = first_cut == std::string_view::npos ? std::string_view{} : element.substr(first_cut + 1);
  while (!params.empty()) {
    const auto cut = params.find(';');
    const auto param = core::trim_ows(params.substr(0, cut));
    params = cut == std::string_view::npos ? std::string_view{} : params.substr(cut + 1);
    const auto equals = param.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    const auto name = core::trim_ows(param.substr(0, equals));
    if (name != "w" && name != "W") continue;
    const auto window = core::parse_decimal(core::trim_ows(param.substr(equals + 1)));
    if (!window) return std::nullopt;
    out.window_seconds = window;
  }
  return out;
}

}  // namespace regcache::upstream
