#include "regcache/oci/media_type.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace regcache::oci {
namespace {

bool accepts_one(std::string_view header, std::string_view type) {
  const std::array<std::string_view, 1> values{header};
  return accepts(values, type);
}

TEST(media_type, constants_are_the_wire_strings) {
  EXPECT_EQ(oci_manifest, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(oci_index, "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(docker_manifest, "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_EQ(docker_manifest_list, "application/vnd.docker.distribution.manifest.list.v2+json");
  EXPECT_EQ(docker_schema1_signed, "application/vnd.docker.distribution.manifest.v1+prettyjws");
  EXPECT_EQ(docker_schema1, "application/vnd.docker.distribution.manifest.v1+json");
}

TEST(media_type, index_and_schema1_classification) {
  EXPECT_TRUE(is_index_media_type(oci_index));
  EXPECT_TRUE(is_index_media_type(docker_manifest_list));
  EXPECT_TRUE(is_index_media_type("Application/VND.OCI.Image.Index.v1+json; charset=utf-8"));
  EXPECT_FALSE(is_index_media_type(oci_manifest));
  EXPECT_FALSE(is_index_media_type(docker_manifest));
  EXPECT_FALSE(is_index_media_type(""));
  EXPECT_TRUE(is_schema1_media_type(docker_schema1_signed));
  EXPECT_TRUE(is_schema1_media_type(docker_schema1));
  EXPECT_FALSE(is_schema1_media_type(docker_manifest));
}

TEST(media_type, accept_header_is_what_containerd_sends) {
  EXPECT_EQ(manifest_accept_header(),
            "application/vnd.docker.distribution.manifest.v2+json, "
            "application/vnd.docker.distribution.manifest.list.v2+json, "
            "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*");
  for (auto t : {oci_manifest, oci_index, docker_manifest, docker_manifest_list, docker_schema1})
    EXPECT_TRUE(accepts_one(manifest_accept_header(), t)) << t;
}

TEST(media_type, strip_parameters) {
  EXPECT_EQ(strip_parameters("application/json"), "application/json");
  EXPECT_EQ(strip_parameters("  application/json ; charset=utf-8"), "application/json");
  EXPECT_EQ(strip_parameters("text/plain;"), "text/plain");
  EXPECT_EQ(strip_parameters(";x=y"), "");
  EXPECT_EQ(strip_parameters(""), "");
}

TEST(accepts, no_header_or_empty_header_accepts_everything) {
  EXPECT_TRUE(accepts({}, oci_index));
  EXPECT_TRUE(accepts_one("", oci_index));
  EXPECT_TRUE(accepts_one(" , ,", oci_index));
}

TEST(accepts, exact_types_case_insensitive_with_parameters) {
  EXPECT_TRUE(accepts_one(std::string(oci_manifest), oci_manifest));
  EXPECT_TRUE(accepts_one("APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON", oci_manifest));
  EXPECT_TRUE(accepts_one("application/vnd.oci.image.manifest.v1+json; q=0.5", oci_manifest));
  EXPECT_TRUE(accepts_one("text/html,application/vnd.oci.image.manifest.v1+json;q=1.0", oci_manifest));
  EXPECT_FALSE(accepts_one(std::string(docker_manifest), oci_manifest));
  EXPECT_FALSE(accepts_one("application/vnd.oci.image.manifest.v1", oci_manifest));
  EXPECT_TRUE(accepts_one(std::string(oci_manifest), std::string(oci_manifest) + "; charset=utf-8"));
}

TEST(accepts, several_header_values) {
  const std::vector<std::string_view> values{std::string_view(docker_manifest), std::string_view(oci_index)};
  EXPECT_TRUE(accepts(values, oci_index));
  EXPECT_TRUE(accepts(values, docker_manifest));
  EXPECT_FALSE(accepts(values, oci_manifest));
}

TEST(accepts, wildcards) {
  EXPECT_TRUE(accepts_one("*/*", oci_index));
  EXPECT_TRUE(accepts_one("application/*", oci_index));
  EXPECT_TRUE(accepts_one("Application/*", oci_index));
  EXPECT_FALSE(accepts_one("text/*", oci_index));
  EXPECT_FALSE(accepts_one("application/*", "applications/x"));
  EXPECT_FALSE(accepts_one("*", oci_index));
  EXPECT_FALSE(accepts_one("/*", oci_index));
}

TEST(accepts, q_zero_means_not_acceptable) {
  EXPECT_FALSE(accepts_one("application/vnd.oci.image.index.v1+json;q=0", oci_index));
  EXPECT_FALSE(accepts_one("application/vnd.oci.image.index.v1+json ; Q=0.000", oci_index));
  EXPECT_FALSE(accepts_one("*/*;q=0", oci_index));
  EXPECT_TRUE(accepts_one("*/*;q=0.001", oci_index));
  EXPECT_TRUE(accepts_one("*/*;q=0.0000", oci_index));  // not a qvalue: ignored
  // The most specific range decides.
  EXPECT_FALSE(accepts_one("*/*, application/vnd.oci.image.index.v1+json;q=0", oci_index));
  EXPECT_TRUE(accepts_one("*/*;q=0, application/*", oci_index));
  EXPECT_TRUE(accepts_one("application/*;q=0, application/vnd.oci.image.index.v1+json", oci_index));
  EXPECT_FALSE(accepts_one("application/*;q=0, */*", oci_index));
}

TEST(accepts, quoted_parameters_may_hold_delimiters) {
  EXPECT_FALSE(accepts_one("text/plain; x=\"a, application/vnd.oci.image.index.v1+json\"", oci_index));
  EXPECT_TRUE(accepts_one("text/plain; x=\"a,\\\" b;\", application/vnd.oci.image.index.v1+json", oci_index));
  EXPECT_FALSE(accepts_one("application/vnd.oci.image.index.v1+json; x=\";\"; q=0", oci_index));
  // An unterminated quote swallows the rest of the header.
  EXPECT_FALSE(accepts_one("text/plain; x=\"abc, application/vnd.oci.image.index.v1+json", oci_index));
}

TEST(accepts, long_hostile_header_is_linear) {
  std::string header;
  for (int i = 0; i < 100'000; ++i) header += "a/b;q=0.5;\"x\",";
  header += "*/*";
  EXPECT_TRUE(accepts_one(header, oci_index));
}

}  // namespace
}  // namespace regcache::oci
