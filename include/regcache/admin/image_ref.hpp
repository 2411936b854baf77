#pragma once
// Image references as operators type them (docker pull style), before
// routing: "docker.io/library/alpine:3.20", "alpine:3.20", "alpine" (tag
// latest), "ghcr.io/owner/app@sha256:…", "127.0.0.1:5001/library/x:v1".
// Which upstream and repository a name means is the router's business
// (registry::router::route(name, std::nullopt)); this only splits and checks
// the text. Pure functions, thread-safe; the input is untrusted (fuzzed by
// tests/fuzz/fuzz_image_ref.cpp).
#include "regcache/oci/reference.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace regcache::admin {

inline constexpr std::size_t max_image_ref_length = 1024;

// What is wrong with an operator's input, said so they can fix it.
struct input_error {
  std::string message;
};
template <class T>
using parsed = boost::system::result<T, input_error>;

struct image_ref {
  // Everything before the tag or digest, e.g. "ghcr.io/owner/app" or "alpine".
  std::string name;
  // The tag (latest when none was given) or the digest. Given both
  // ("app:v1@sha256:…"), the digest wins, as it does for docker and containerd.
  oci::reference reference;

  // "name:tag" or "name@digest": parses back to the same image_ref.
  [[nodiscard]] std::string str() const;
};

[[nodiscard]] parsed<image_ref> parse_image_ref(std::string_view text);

}  // namespace regcache::admin
