// error_body with arbitrary messages must always be valid JSON that carries
// the message back (modulo replaced invalid UTF-8).
#include "regcache/oci/error_body.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace regcache::oci;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto code = static_cast<wire_code>(data[0] % (static_cast<int>(wire_code::unknown) + 1));
  const std::string_view message(reinterpret_cast<const char*>(data + 1), size - 1);

  const auto body = error_body(code, message);
  boost::system::error_code ec;
  const auto doc = boost::json::parse(body, ec);
  if (ec) std::abort();
  const auto* errors = doc.as_object().if_contains("errors");
  if (errors == nullptr) std::abort();
  const auto& error = errors->as_array().at(0).as_object();
  if (error.at("code").as_string() != code_name(code)) std::abort();
  const std::string_view echoed = error.at("message").as_string();
  // Valid UTF-8 comes back unchanged; each invalid byte grows into the
  // three bytes of U+FFFD, so an echo of the same length must be identical.
  if (echoed.size() < message.size() || (echoed.size() == message.size() && echoed != message)) std::abort();
  if (default_status(code) < 400 || default_status(code) > 599) std::abort();
  return 0;
}
