#pragma once
// Real cosign output (tests/fixtures/cosign, its README says what each file
// is), read the way the tests of verify and trust use it.
#include "regcache/core/base64.hpp"
#include "regcache/verify/cosign.hpp"
#include "regcache/verify/public_key.hpp"

#include <boost/json/parse.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace regcache::verify::testing {

inline const std::filesystem::path cosign_fixtures = std::filesystem::path(REGCACHE_SOURCE_DIR) / "tests/fixtures/cosign";

inline std::string read_fixture(const std::string& name) {
  std::ifstream in(cosign_fixtures / name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A signature.json fixture as the layer cosign stores: payload bytes and annotation.
inline cosign_signature signature_from(const std::string& name) {
  const auto doc = boost::json::parse(read_fixture(name)).as_object();
  return {core::base64_decode(std::string_view(doc.at("payload").as_string())).value(),
          std::string(doc.at("annotations").at(cosign_signature_annotation).as_string())};
}

inline public_key key(const std::string& name) { return public_key::from_file(cosign_fixtures / name).value(); }

}  // namespace regcache::verify::testing
