#pragma once
// The one error model of regcache: internal calls return
// boost::system::result<T> or an error_code; exceptions stay at the edges.
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string_view>

namespace regcache {

using boost::system::error_code;
template <class T>
using result = boost::system::result<T, error_code>;

// The single, greppable place where an error is deliberately dropped.
// `why` documents the reason at the call site; it is not used at run time.
inline void ignore_error(const error_code&, std::string_view why) noexcept { (void)why; }

}  // namespace regcache
