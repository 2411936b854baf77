#pragma once
// The JSON the admin API answers with, one function per kind of document,
// so the server and the offline CLI (`regcache fsck --data`) print the same
// fields. Field names are snake_case; sizes are bytes, times Unix
// milliseconds. Pure functions, thread-safe.
#include "regcache/admin/inventory.hpp"
#include "regcache/cache/evictor.hpp"
#include "regcache/cache/prefetcher.hpp"
#include "regcache/store/fsck.hpp"
#include "regcache/store/index.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace regcache::admin {

// {"error": "<message>"}: every admin error answer.
[[nodiscard]] std::string error_body(std::string_view message);
// One line of an NDJSON stream: the object serialized, then '\n'.
[[nodiscard]] std::string ndjson_line(const boost::json::object& o);

[[nodiscard]] boost::json::object to_json(const cache::eviction_report& r);
[[nodiscard]] boost::json::object to_json(const store::fsck_report& r);
[[nodiscard]] boost::json::object to_json(const store::fsck_progress& p);
[[nodiscard]] boost::json::object to_json(const image_entry& e);
[[nodiscard]] boost::json::object to_json(const repository_entry& e);
[[nodiscard]] boost::json::object pin_json(std::string_view upstream, std::string_view repository,
                                           std::string_view reference, const store::pin_record& pin);
// Adds the counters of a prefetch (blobs_done, blobs_total, bytes_done,
// bytes_total, bytes_fetched) to `o`.
void add_progress(boost::json::object& o, const cache::prefetch_progress& p);

}  // namespace regcache::admin
