#pragma once
// The error category of a module's `enum class errc`: a name and a function
// that describes each value. Every module builds its category from this.
#include <boost/system/error_category.hpp>

#include <string>
#include <string_view>

namespace regcache::core {

template <class Errc>
class enum_category final : public boost::system::error_category {
 public:
  using describe_fn = std::string_view (*)(Errc) noexcept;
  enum_category(const char* name, describe_fn describe) noexcept : name_(name), describe_(describe) {}
  const char* name() const noexcept override { return name_; }
  std::string message(int ev) const override { return std::string(describe_(static_cast<Errc>(ev))); }

 private:
  const char* name_;
  describe_fn describe_;
};

}  // namespace regcache::core
