#include "regcache/upstream/url.hpp"

#include <gtest/gtest.h>

namespace regcache::upstream {
namespace {

TEST(parse_url, https_with_default_port) {
  auto ep = parse_url("https://registry-1.docker.io");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->scheme, "https");
  EXPECT_EQ(ep->host, "registry-1.docker.io");
  EXPECT_EQ(ep->port, 443);
  EXPECT_EQ(ep->base_path, "");
  EXPECT_TRUE(ep->tls());
  EXPECT_EQ(ep->origin(), "https://registry-1.docker.io");
  EXPECT_EQ(ep->authority(), "registry-1.docker.io");
}

TEST(parse_url, http_with_default_port) {
  auto ep = parse_url("http://mirror.local/");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->port, 80);
  EXPECT_FALSE(ep->tls());
  EXPECT_EQ(ep->base_path, "");
  EXPECT_EQ(ep->origin(), "http://mirror.local");
}

TEST(parse_url, explicit_port_appears_in_origin_unless_default) {
  auto ep = parse_url("http://127.0.0.1:5001");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 5001);
  EXPECT_EQ(ep->origin(), "http://127.0.0.1:5001");
  EXPECT_EQ(ep->authority(), "127.0.0.1:5001");

  auto same = parse_url("https://ghcr.io:443");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->origin(), "https://ghcr.io");
}

TEST(parse_url, scheme_and_host_are_lowercased) {
  auto ep = parse_url("HTTPS://GHCR.IO/Some/Path");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->scheme, "https");
  EXPECT_EQ(ep->host, "ghcr.io");
  EXPECT_EQ(ep->base_path, "/Some/Path");  // paths are case-sensitive
}

TEST(parse_url, base_path_loses_trailing_slashes) {
  auto ep = parse_url("https://harbor.example.com/proxy/docker//");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->base_path, "/proxy/docker");
  auto esc = parse_url("https://h.example/a%2Fb");
  ASSERT_TRUE(esc);
  EXPECT_EQ(esc->base_path, "/a%2Fb");
}

TEST(parse_url, ipv6_literal) {
  auto ep = parse_url("https://[::1]:8443/v");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 8443);
  EXPECT_EQ(ep->base_path, "/v");
  EXPECT_EQ(ep->origin(), "https://[::1]:8443");
  auto plain = parse_url("http://[FE80::1]");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "fe80::1");
  EXPECT_EQ(plain->origin(), "http://[fe80::1]");
}

TEST(parse_url, rejects_other_schemes) {
  for (const char* url : {"ftp://host", "unix:///run/x.sock", "//host", "host:5000", "", "https:/host", "httpx://h"})
    EXPECT_EQ(parse_url(url).error(), errc::invalid_url) << url;
}

TEST(parse_url, rejects_userinfo_query_and_fragment) {
  for (const char* url : {"https://user:pass@host", "https://user@host/x", "https://host/v2?x=1", "https://host?x",
                          "https://host/#frag", "https://host#"})
    EXPECT_EQ(parse_url(url).error(), errc::invalid_url) << url;
}

TEST(parse_url, rejects_bad_hosts_and_ports) {
  for (const char* url : {"https://", "https:///path", "https://:443", "https://host:", "https://host:0",
                          "https://host:65536", "https://host:99999999999", "https://host:80a", "https://host:-1",
                          "https://ho st", "https://h%41st", "https://[::1", "https://[::1]x", "https://[::1]:",
                          "https://[nope]", "https://host:443:1"})
    EXPECT_EQ(parse_url(url).error(), errc::invalid_url) << url;
}

TEST(parse_url, rejects_bad_path_characters) {
  for (const char* url : {"https://host/a b", "https://host/a\r\nX: y", "https://host/%zz", "https://host/%4",
                          "https://host/\"quote\"", "https://host/back\\slash"})
    EXPECT_EQ(parse_url(url).error(), errc::invalid_url) << url;
}

TEST(parse_url, rejects_overlong_urls) {
  EXPECT_EQ(parse_url("https://host/" + std::string(4096, 'a')).error(), errc::invalid_url);
}

}  // namespace
}  // namespace regcache::upstream
