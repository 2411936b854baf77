#include "regcache/admin/image_ref.hpp"

#include <algorithm>

namespace regcache::admin {
namespace {

// A registry host as in an image reference: host name or IPv4 or [IPv6],
// optionally :port. Only the characters are checked; the router decides
// whether such a registry is configured.
bool is_valid_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == ':' || c == '[' || c == ']';
  });
}

// Docker's rule: the first component names a registry when it contains '.'
// or ':' or is "localhost", and more components follow.
bool looks_like_host(std::string_view component) {
  return component.find_first_of(".:") != std::string_view::npos || component == "localhost";
}

// Built by appending: g++ 12 warns falsely (-Wrestrict) about "literal" + std::string.
std::string quoted(std::string_view text) {
  std::string out(1, '"');
  out.append(text.substr(0, 200));
  out.push_back('"');
  return out;
}

}  // namespace

std::string image_ref::str() const { return name + (reference.is_digest() ? "@" : ":") + reference.text; }

parsed<image_ref> parse_image_ref(std::string_view text) {
  if (text.empty()) return input_error{"empty image reference"};
  if (text.size() > max_image_ref_length)
    return input_error{"image reference longer than " + std::to_string(max_image_ref_length) + " characters"};

  std::string_view name = text;
  std::string_view reference;
  bool by_digest = false;
  if (const auto at = text.find('@'); at != std::string_view::npos) {
    name = text.substr(0, at);
    reference = text.substr(at + 1);
    by_digest = true;
  }
  // A ':' after the last '/' separates a tag (before it, it is a registry's port).
  const auto last_slash = name.rfind('/');
  const auto colon = name.find(':', last_slash == std::string_view::npos ? 0 : last_slash + 1);
  std::string_view tag = "latest";
  if (colon != std::string_view::npos) {
    tag = name.substr(colon + 1);
    name = name.substr(0, colon);
    if (!oci::is_valid_tag(tag)) return input_error{"invalid tag " + quoted(tag) + " in " + quoted(text)};
  }
  if (by_digest) {
    auto parsed = oci::parse_reference(reference);
    if (!parsed || !parsed->is_digest())
      return input_error{"invalid digest " + quoted(reference) + " in " + quoted(text) + " (expected sha256:<64 hex>)"};
  } else {
    reference = tag;
  }

  std::string_view repository = name;
  if (const auto slash = name.find('/'); slash != std::string_view::npos && looks_like_host(name.substr(0, slash))) {
    if (!is_valid_host(name.substr(0, slash)))
      return input_error{"invalid registry host " + quoted(name.substr(0, slash)) + " in " + quoted(text)};
    repository = name.substr(slash + 1);
  }
  if (!oci::is_valid_repository_name(repository))
    return input_error{"invalid repository name " + quoted(repository) + " in " + quoted(text) +
                       ": lowercase letters, digits and separators (. _ __ -) in /-separated components"};

  auto parsed = oci::parse_reference(reference);
  if (!parsed) return input_error{"invalid reference " + quoted(reference) + " in " + quoted(text)};
  return image_ref{std::string(name), std::move(*parsed)};
}

}  // namespace regcache::admin
