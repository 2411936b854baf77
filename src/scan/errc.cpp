#include "regcache/scan/errc.hpp"

#include "regcache/core/error_category.hpp"

#include <string_view>

namespace regcache::scan {
namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::failed: return "the image failed the vulnerability scan";
    case errc::not_scanned: return "the image has not been scanned yet";
    case errc::pass_refused: return "the scan pass does not cover this content";
    case errc::not_awaiting: return "no webhook scan awaits a verdict for this digest";
    case errc::webhook_failed: return "the scan webhook failed";
  }
  return "unknown scan error";
}

}  // namespace

const boost::system::error_category& scan_category() noexcept {
  static const core::enum_category<errc> instance("regcache.scan", describe);
  return instance;
}

}  // namespace regcache::scan
