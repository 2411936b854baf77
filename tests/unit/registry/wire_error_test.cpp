#include "regcache/registry/wire_error.hpp"

#include "regcache/auth/errc.hpp"
#include "regcache/cache/errc.hpp"
#include "regcache/core/errc.hpp"
#include "regcache/http/errc.hpp"
#include "regcache/oci/errc.hpp"
#include "regcache/scan/errc.hpp"
#include "regcache/store/errc.hpp"
#include "regcache/trust/errc.hpp"
#include "regcache/upstream/errc.hpp"

#include <boost/asio/error.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace regcache::registry {
namespace {

using oci::wire_code;
using ::testing::HasSubstr;

struct row {
  error_code ec;
  error_status expected;
};

// The whole table, enumerator by enumerator: a change of a status is a
// change of this list, and a new enumerator fails every_enumerator_has_a_row.
const std::vector<row>& table() {
  static const std::vector<row> rows = {
      {core::errc::invalid_digest, {400, wire_code::digest_invalid}},
      {core::errc::unsupported_digest, {400, wire_code::digest_invalid}},
      {core::errc::invalid_byte_size, {400, wire_code::unknown}},
      {core::errc::invalid_duration, {400, wire_code::unknown}},
      {core::errc::digest_mismatch, {502, wire_code::digest_invalid}},

      {oci::errc::name_invalid, {400, wire_code::name_invalid}},
      {oci::errc::tag_invalid, {404, wire_code::manifest_unknown}},
      {oci::errc::digest_invalid, {400, wire_code::digest_invalid}},
      {oci::errc::unsupported_digest, {400, wire_code::digest_invalid}},
      {oci::errc::route_unknown, {404, wire_code::unsupported}},
      {oci::errc::manifest_invalid, {502, wire_code::unknown}},
      {oci::errc::manifest_too_large, {502, wire_code::unknown}},
      {oci::errc::tag_list_invalid, {400, wire_code::pagination_number_invalid}},
      {oci::errc::repository_glob_invalid, {500, wire_code::unknown}},

      {http::errc::invalid_target, {400, wire_code::unsupported}},
      {http::errc::body_too_large, {413, wire_code::unknown}},
      {http::errc::body_unsupported, {411, wire_code::unsupported}},

      {store::errc::not_found, {404, wire_code::blob_unknown}},
      {store::errc::io_error, {500, wire_code::unknown}},
      {store::errc::no_space, {503, wire_code::unavailable, 5}},
      {store::errc::digest_mismatch, {502, wire_code::digest_invalid}},
      {store::errc::size_mismatch, {502, wire_code::unknown}},
      {store::errc::index_error, {500, wire_code::unknown}},
      {store::errc::corrupt_record, {500, wire_code::unknown}},
      {store::errc::writer_closed, {500, wire_code::unknown}},

      {upstream::errc::invalid_url, {502, wire_code::unknown}},
      {upstream::errc::connect_failed, {503, wire_code::unavailable, 5}},
      {upstream::errc::connect_timeout, {503, wire_code::unavailable, 5}},
      {upstream::errc::read_timeout, {503, wire_code::unavailable, 5}},
      {upstream::errc::tls_failed, {503, wire_code::unavailable, 5}},
      {upstream::errc::protocol_error, {502, wire_code::unknown}},
      {upstream::errc::body_too_large, {502, wire_code::unknown}},
      {upstream::errc::connection_closed, {503, wire_code::unavailable, 5}},
      {upstream::errc::invalid_request, {500, wire_code::unknown}},
      {upstream::errc::credentials_unavailable, {500, wire_code::unknown}},
      {upstream::errc::offline, {503, wire_code::unavailable}},
      {upstream::errc::repository_not_allowed, {403, wire_code::denied}},
      {upstream::errc::not_found, {404, wire_code::name_unknown}},
      {upstream::errc::unauthorized, {401, wire_code::unauthorized}},
      {upstream::errc::denied, {403, wire_code::denied}},
      {upstream::errc::rate_limited, {503, wire_code::too_many_requests, 60}},
      {upstream::errc::rejected, {400, wire_code::unsupported}},
      {upstream::errc::server_error, {502, wire_code::unknown}},
      {upstream::errc::range_not_continued, {502, wire_code::unknown}},
      {upstream::errc::invalid_answer, {502, wire_code::unknown}},

      {cache::errc::manifest_unknown, {404, wire_code::manifest_unknown}},
      {cache::errc::blob_unknown, {404, wire_code::blob_unknown}},
      {cache::errc::not_acceptable, {404, wire_code::manifest_unknown}},
      {cache::errc::upstream_unreachable, {503, wire_code::unavailable, 5}},
      {cache::errc::upstream_failed, {502, wire_code::unknown}},
      {cache::errc::upstream_rate_limited, {503, wire_code::too_many_requests, 60}},
      {cache::errc::upstream_invalid, {502, wire_code::unknown}},
      {cache::errc::digest_mismatch, {502, wire_code::digest_invalid}},
      {cache::errc::storage_failed, {500, wire_code::unknown}},
      {cache::errc::offline, {503, wire_code::unavailable}},
      {cache::errc::invalid_platform, {400, wire_code::unknown}},
      {cache::errc::upstream_unauthorized, {401, wire_code::unauthorized}},
      {cache::errc::upstream_denied, {403, wire_code::denied}},
      {cache::errc::upstream_rejected, {400, wire_code::unsupported}},
      {cache::errc::upstream_too_slow, {503, wire_code::unavailable, 5}},
      {cache::errc::body_stalled, {503, wire_code::unavailable, 5}},

      {auth::errc::credentials_missing, {401, wire_code::unauthorized}},
      {auth::errc::credentials_invalid, {401, wire_code::unauthorized}},
      {auth::errc::denied, {403, wire_code::denied}},
      {auth::errc::verifier_busy, {503, wire_code::too_many_requests, 1}},

      {scan::errc::failed, {403, wire_code::denied}},
      {scan::errc::not_scanned, {503, wire_code::unavailable, 10}},
      {scan::errc::pass_refused, {403, wire_code::denied}},
      {scan::errc::not_awaiting, {409, wire_code::unsupported}},
      {scan::errc::webhook_failed, {502, wire_code::unknown}},

      {trust::errc::not_signed, {403, wire_code::denied}},
      {trust::errc::signature_invalid, {403, wire_code::denied}},
      {trust::errc::signature_other_digest, {403, wire_code::denied}},
      {trust::errc::signature_other_repository, {403, wire_code::denied}},
      {trust::errc::signature_malformed, {403, wire_code::denied}},
      {trust::errc::signatures_unavailable, {503, wire_code::unavailable, 5}},
      {trust::errc::blob_not_verified, {403, wire_code::denied}},
      {trust::errc::signature_untrusted, {403, wire_code::denied}},
      {trust::errc::signature_unsupported, {403, wire_code::denied}},
  };
  return rows;
}

std::string name_of(const error_code& ec) { return std::string(ec.category().name()) + " " + ec.message(); }

TEST(status_of, every_row_of_the_table) {
  for (const auto& r : table()) {
    const auto got = status_of(r.ec);
    EXPECT_EQ(got.status, r.expected.status) << name_of(r.ec);
    EXPECT_EQ(got.code, r.expected.code) << name_of(r.ec);
    EXPECT_EQ(got.retry_after, r.expected.retry_after) << name_of(r.ec);
  }
}

// Walks each category's values from 1 until its "unknown ... error"
// message: every value that has a message of its own is an enumerator,
// and the table above must hold it.
TEST(status_of, every_enumerator_has_a_row) {
  std::set<std::pair<const boost::system::error_category*, int>> listed;
  for (const auto& r : table()) listed.insert({&r.ec.category(), r.ec.value()});
  const std::vector<std::pair<const boost::system::error_category*, std::string>> categories = {
      {&core::core_category(), "unknown core error"},       {&oci::oci_category(), "unknown oci error"},
      {&http::http_category(), "unknown http error"},       {&store::store_category(), "unknown store error"},
      {&upstream::upstream_category(), "unknown upstream error"}, {&cache::cache_category(), "unknown cache error"},
      {&auth::auth_category(), "unknown auth error"},       {&scan::scan_category(), "unknown scan error"},
      {&trust::trust_category(), "unknown signature gate error"},
  };
  for (const auto& [category, unknown] : categories) {
    int enumerators = 0;
    for (int v = 1; error_code(v, *category).message() != unknown; ++v) {
      ++enumerators;
      EXPECT_TRUE(listed.count({category, v})) << category->name() << " value " << v << " ("
                                               << error_code(v, *category).message() << ") has no row in the table";
    }
    EXPECT_GT(enumerators, 0) << category->name();
  }
}

TEST(status_of, errors_of_other_categories_are_internal) {
  EXPECT_EQ(status_of(boost::asio::error::connection_reset), (error_status{500, wire_code::unknown}));
  EXPECT_EQ(status_of(error_code(ENOSPC, boost::system::generic_category())), (error_status{500, wire_code::unknown}));
}

TEST(to_wire_error, carries_the_tables_status_and_a_message_naming_the_thing) {
  for (const auto& r : table()) {
    const auto e = to_wire_error(r.ec, "manifest library/alpine:3.20", "docker.io");
    EXPECT_EQ(e.status, r.expected.status) << name_of(r.ec);
    EXPECT_EQ(e.code, r.expected.code) << name_of(r.ec);
    EXPECT_EQ(e.retry_after, r.expected.retry_after) << name_of(r.ec);
    EXPECT_THAT(e.message, HasSubstr("library/alpine:3.20")) << name_of(r.ec);
  }
}

TEST(to_wire_error, upstream_failures_name_the_upstream) {
  for (const auto ec : {cache::errc::manifest_unknown, cache::errc::upstream_unreachable, cache::errc::upstream_failed,
                        cache::errc::upstream_rate_limited, cache::errc::upstream_invalid,
                        cache::errc::digest_mismatch, cache::errc::offline, cache::errc::upstream_unauthorized,
                        cache::errc::upstream_denied, cache::errc::upstream_rejected, cache::errc::upstream_too_slow,
                        cache::errc::body_stalled}) {
    EXPECT_THAT(to_wire_error(ec, "blob sha256:ab", "ghcr.io").message, HasSubstr("upstream ghcr.io"))
        << name_of(ec);
  }
}

TEST(to_wire_error, egress_refusal_names_the_upstream_and_the_keys) {
  const auto e = to_wire_error(upstream::errc::repository_not_allowed, "manifest team-b/app:v1", "docker.io");
  EXPECT_EQ(e.status, 403u);
  EXPECT_EQ(e.code, wire_code::denied);
  EXPECT_THAT(e.message, HasSubstr("manifest team-b/app:v1: upstream docker.io"));
  EXPECT_THAT(e.message, HasSubstr("allow_repositories/deny_repositories"));
}

TEST(to_wire_error, signature_refusals_name_the_reason) {
  const auto e = to_wire_error(trust::errc::signature_other_digest, "manifest team/app:v1 (sha256:ab)", "docker.io");
  EXPECT_EQ(e.status, 403u);
  EXPECT_EQ(e.message, "manifest team/app:v1 (sha256:ab) is refused by regcache's signature policy: its signature "
                       "covers another manifest digest");
  EXPECT_THAT(to_wire_error(trust::errc::not_signed, "manifest team/app@sha256:ab", "docker.io").message,
              HasSubstr("signature policy: no signature found"));
  EXPECT_THAT(to_wire_error(trust::errc::signatures_unavailable, "manifest team/app@sha256:ab", "docker.io").message,
              HasSubstr("cannot be fetched from upstream docker.io"));
}

TEST(to_wire_error, invalid_input_says_what_is_allowed) {
  EXPECT_EQ(to_wire_error(oci::errc::tag_invalid, "request /v2/a/manifests/-x", "").message,
            "request /v2/a/manifests/-x names no manifest: a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with "
            ". or -, and a digest is algorithm:hex");
  EXPECT_EQ(to_wire_error(oci::errc::digest_invalid, "blob a@sha256:1", "").message,
            "invalid digest in blob a@sha256:1: expected sha256:<64 lowercase hex>");
}

}  // namespace
}  // namespace regcache::registry
