#pragma once
// Content discovery pulled through: tag lists and referrers come from the
// upstream (they change whenever something is pushed), and the last answer
// is kept to serve when the upstream cannot be reached.
//
// Tag lists fall back to the remembered upstream list, then to the tags this
// cache has resolved for the repository (the index), so even after a restart
// an offline cache lists what it can serve.
//
// Thread-safety: all members may be called from any thread.
#include "regcache/cache/context.hpp"
#include "regcache/cache/upstream_source.hpp"
#include "regcache/core/digest.hpp"

#include <boost/asio/awaitable.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace regcache::cache {

struct tag_listing {
  std::vector<std::string> tags;  // sorted
  const char* outcome = "pass";   // "pass" (fresh from upstream) | "stale"
};

struct referrers_listing {
  std::string body;  // an OCI image index
  std::string filters_applied;
  const char* outcome = "pass";
};

class discovery {
 public:
  explicit discovery(context ctx) : ctx_(std::move(ctx)) {}

  boost::asio::awaitable<result<tag_listing>> tags(std::shared_ptr<const upstream_source> source,
                                                   std::string repository);
  // `artifact_type` empty → unfiltered.
  boost::asio::awaitable<result<referrers_listing>> referrers(std::shared_ptr<const upstream_source> source,
                                                              std::string repository, core::digest subject,
                                                              std::string artifact_type);

 private:
  boost::asio::awaitable<result<std::vector<std::string>>> fetch_tags(std::shared_ptr<const upstream_source> source,
                                                                      std::string repository);

  using key = std::tuple<std::string, std::string, std::string>;
  context ctx_;
  std::mutex mutex_;
  std::map<key, std::vector<std::string>> last_tags_;
  std::map<key, referrers_listing> last_referrers_;
};

}  // namespace regcache::cache
