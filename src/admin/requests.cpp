#include "regcache/admin/requests.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace regcache::admin {
namespace {

namespace json = boost::json;

parsed<json::object> parse_object(std::string_view body, bool empty_is_object) {
  if (body.empty() && empty_is_object) return json::object{};
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  if (ec) return input_error{"the request body is not JSON: " + ec.message()};
  if (!value.is_object()) return input_error{"the request body must be a JSON object"};
  return std::move(value.as_object());
}

// "key" with its quotes; built by appending (g++ 12 warns falsely, -Wrestrict,
// about "literal" + std::string temporaries).
std::string quoted_key(std::string_view key) {
  std::string out(1, '"');
  out.append(key);
  out.push_back('"');
  return out;
}

// Keys the endpoint does not know are refused: a misspelt "platform" must
// not silently mean "every platform".
parsed<bool> only_keys(const json::object& o, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : o) {
    bool ok = false;
    for (auto k : known) ok = ok || key == k;
    if (!ok) return input_error{std::string("unknown field ") + quoted_key({key.data(), key.size()})};
  }
  return true;
}

parsed<std::string> string_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return input_error{std::string("missing field ") + quoted_key(key)};
  if (!v->is_string()) return input_error{quoted_key(key) + " must be a string"};
  // in_place: input_error could be built from a string too.
  return parsed<std::string>(boost::system::in_place_value, v->as_string().data(), v->as_string().size());
}

parsed<std::vector<std::string>> string_list(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) return input_error{quoted_key(key) + " must be an array of strings"};
  for (const auto& item : v->as_array()) {
    if (!item.is_string()) return input_error{quoted_key(key) + " must be an array of strings"};
    out.emplace_back(item.as_string());
  }
  return out;
}

parsed<image_ref> image_field(const json::object& o) {
  auto text = string_field(o, "image");
  if (!text) return text.error();
  return parse_image_ref(*text);
}

}  // namespace

parsed<std::string> parse_pin_label(std::string_view text) {
  const auto usage = [&](std::string_view why) {
    return input_error{"invalid label \"" + std::string(text.substr(0, 100)) + "\": " + std::string(why) +
                       " (use key=value, e.g. app=shop)"};
  };
  if (text.size() > max_pin_label_length) return usage("too long");
  const auto equals = text.find('=');
  if (equals == std::string_view::npos) return usage("no '='");
  const auto key = text.substr(0, equals);
  const auto value = text.substr(equals + 1);
  if (key.empty() || value.empty()) return usage("empty key or value");
  const auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  };
  for (char c : key)
    if (!word(c) && c != '/') return usage("the key may hold letters, digits and -_./");
  for (char c : value)
    if (!word(c)) return usage("the value may hold letters, digits and -_.");
  return parsed<std::string>(boost::system::in_place_value, text);
}

parsed<pin_request> parse_pin_request(std::string_view body) {
  auto o = parse_object(body, false);
  if (!o) return o.error();
  if (auto k = only_keys(*o, {"image", "platforms", "for_ms", "label"}); !k) return k.error();
  auto image = image_field(*o);
  if (!image) return image.error();
  auto platforms = string_list(*o, "platforms");
  if (!platforms) return platforms.error();
  pin_request request{std::move(*image), std::move(*platforms), std::nullopt, {}};
  if (const auto* v = o->if_contains("for_ms"); v && !v->is_null()) {
    const auto* n = v->if_int64();
    if (!n || *n <= 0 || *n > max_pin_duration.count())
      return input_error{"\"for_ms\" must be a whole number of milliseconds from 1 to " +
                         std::to_string(max_pin_duration.count())};
    request.lasts = std::chrono::milliseconds(*n);
  }
  if (const auto* v = o->if_contains("label"); v && !v->is_null()) {
    if (!v->is_string()) return input_error{"\"label\" must be a string"};
    auto label = parse_pin_label(std::string_view(v->as_string().data(), v->as_string().size()));
    if (!label) return label.error();
    request.label = std::move(*label);
  }
  return request;
}

parsed<prefetch_request> parse_prefetch_request(std::string_view body) {
  auto o = parse_object(body, false);
  if (!o) return o.error();
  if (auto k = only_keys(*o, {"images", "platforms"}); !k) return k.error();
  auto names = string_list(*o, "images");
  if (!names) return names.error();
  if (names->empty()) return input_error{"\"images\" must name at least one image"};
  if (names->size() > max_prefetch_images)
    return input_error{"at most " + std::to_string(max_prefetch_images) + " images per prefetch"};
  prefetch_request request;
  for (const auto& name : *names) {
    auto image = parse_image_ref(name);
    if (!image) return image.error();
    request.images.push_back(std::move(*image));
  }
  auto platforms = string_list(*o, "platforms");
  if (!platforms) return platforms.error();
  request.platforms = std::move(*platforms);
  return request;
}

parsed<image_ref> parse_image_request(std::string_view body) {
  auto o = parse_object(body, false);
  if (!o) return o.error();
  if (auto k = only_keys(*o, {"image"}); !k) return k.error();
  return image_field(*o);
}

parsed<verify_request> parse_verify_request(std::string_view body) {
  auto o = parse_object(body, true);
  if (!o) return o.error();
  if (auto k = only_keys(*o, {"dry_run"}); !k) return k.error();
  verify_request request;
  if (const auto* v = o->if_contains("dry_run")) {
    if (!v->is_bool()) return input_error{"\"dry_run\" must be true or false"};
    request.dry_run = v->as_bool();
  }
  return request;
}

}  // namespace regcache::admin
