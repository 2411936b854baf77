#include "regcache/cache/upstream_source.hpp"

#include "regcache/store/errc.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace regcache::cache {
namespace {

TEST(from_upstream, maps_every_upstream_answer_to_its_cache_error) {
  const struct {
    upstream::errc from;
    errc want;
  } table[] = {
      {upstream::errc::unauthorized, errc::upstream_unauthorized},
      {upstream::errc::denied, errc::upstream_denied},
      {upstream::errc::rate_limited, errc::upstream_rate_limited},
      {upstream::errc::rejected, errc::upstream_rejected},
      {upstream::errc::offline, errc::offline},
      {upstream::errc::server_error, errc::upstream_failed},
      {upstream::errc::range_not_continued, errc::upstream_invalid},
      {upstream::errc::invalid_answer, errc::upstream_invalid},
      {upstream::errc::body_too_large, errc::upstream_invalid},
      {upstream::errc::connect_failed, errc::upstream_unreachable},
      {upstream::errc::connect_timeout, errc::upstream_unreachable},
      {upstream::errc::read_timeout, errc::upstream_unreachable},
      {upstream::errc::tls_failed, errc::upstream_unreachable},
      {upstream::errc::protocol_error, errc::upstream_unreachable},
      {upstream::errc::connection_closed, errc::upstream_unreachable},
  };
  for (const auto& row : table)
    EXPECT_EQ(from_upstream(row.from, errc::manifest_unknown), row.want) << error_code(row.from).message();
}

TEST(from_upstream, not_found_is_what_the_caller_looked_for) {
  EXPECT_EQ(from_upstream(upstream::errc::not_found, errc::manifest_unknown), errc::manifest_unknown);
  EXPECT_EQ(from_upstream(upstream::errc::not_found, errc::blob_unknown), errc::blob_unknown);
}

TEST(from_upstream, other_errors_pass_unchanged) {
  EXPECT_EQ(from_upstream(upstream::errc::repository_not_allowed, errc::manifest_unknown),
            upstream::errc::repository_not_allowed);
  EXPECT_EQ(from_upstream(store::errc::no_space, errc::blob_unknown), store::errc::no_space);
  EXPECT_EQ(from_upstream(errc::digest_mismatch, errc::blob_unknown), errc::digest_mismatch);
}

TEST(egress_refusal, refuses_exactly_what_the_lists_exclude) {
  boost::asio::io_context ioc;
  metrics::registry metrics;
  upstream::registry_options options{.name = "registry.test"};
  options.allow_repositories = {oci::repository_glob::parse("team/**").value()};
  options.deny_repositories = {oci::repository_glob::parse("team/private-*").value()};
  const upstream::endpoint nowhere{"http", "127.0.0.1", 1, ""};
  upstream_source source;
  source.name = options.name;
  source.registry = std::make_shared<upstream::registry_client>(
      options, std::vector{std::make_shared<upstream::client>(ioc.get_executor(), nowhere, upstream::client_options{})},
      std::make_shared<upstream::authenticator>(options.name, std::nullopt, upstream::client_options{}), metrics);
  EXPECT_FALSE(egress_refusal(source, "team/app"));
  EXPECT_FALSE(egress_refusal(source, "team"));
  EXPECT_EQ(egress_refusal(source, "team/private-x"), upstream::errc::repository_not_allowed);
  EXPECT_EQ(egress_refusal(source, "library/alpine"), upstream::errc::repository_not_allowed);
}

}  // namespace
}  // namespace regcache::cache
