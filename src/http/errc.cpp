#include "regcache/http/errc.hpp"

#include <string>

namespace regcache::http {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "regcache.http"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_target:
        return "invalid request target: expected /path?query of printable ASCII, at most 8192 bytes, with valid %-escapes";
    }
    return "unknown http error";
  }
};

}  // namespace

const boost::system::error_category& http_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace regcache::http
