#include "regcache/store/errc.hpp"
#include "unit/store/index_fixture.hpp"

#include <gtest/gtest.h>

#include <map>

namespace regcache::store {
namespace {

using testing::index_test;

TEST_F(index_test, scan_rows_round_trip_overwrite_and_persist) {
  EXPECT_FALSE(idx_->get_scan(a_)->has_value());
  ASSERT_FALSE(idx_->put_manifest(a_, {"application/vnd.oci.image.manifest.v1+json", "{}", 1, 1}));
  ASSERT_FALSE(idx_->put_manifest(b_, {"application/vnd.oci.image.manifest.v1+json", "{}", 1, 1}));
  const scan_record failed{.verdict = scan_verdict::fail,
                           .scanned_ms = 1'700'000'000'000,
                           .image = "docker.io/library/alpine@" + a_.str(),
                           .summary = "CVE-2024-1 critical in openssl",
                           .report = "https://scanner.internal/reports/1"};
  ASSERT_FALSE(idx_->put_scan(a_, failed));
  EXPECT_EQ(**idx_->get_scan(a_), failed);
  const scan_record passed{.verdict = scan_verdict::pass, .scanned_ms = 5, .image = "x/y@" + a_.str(),
                           .summary = "", .report = ""};
  ASSERT_FALSE(idx_->put_scan(a_, passed));
  ASSERT_FALSE(idx_->put_scan(b_, failed));
  reopen();
  EXPECT_EQ(**idx_->get_scan(a_), passed);
  std::map<std::string, scan_record> seen;
  ASSERT_FALSE(idx_->for_each_scan([&](const core::digest& d, const scan_record& r) {
    seen.emplace(d.str(), r);
    return true;
  }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.at(b_.str()), failed);
}

TEST_F(index_test, a_scan_row_leaves_with_its_manifest) {
  ASSERT_FALSE(idx_->put_manifest(a_, {"application/vnd.oci.image.manifest.v1+json", "{}", 1, 1}));
  ASSERT_FALSE(idx_->put_manifest(b_, {"application/vnd.oci.image.manifest.v1+json", "{}", 1, 1}));
  ASSERT_FALSE(idx_->put_scan(a_, {scan_verdict::pass, 1, "x/y@" + a_.str(), "", ""}));
  ASSERT_FALSE(idx_->put_scan(b_, {scan_verdict::error, 1, "x/y@" + b_.str(), "timeout", ""}));
  ASSERT_FALSE(idx_->remove_manifest(a_));
  EXPECT_FALSE(idx_->get_scan(a_)->has_value());
  EXPECT_TRUE(idx_->get_scan(b_)->has_value());
  EXPECT_EQ(idx_->remove_manifest(a_), errc::not_found);
  // A verdict reached after its manifest left is not written.
  EXPECT_EQ(idx_->put_scan(a_, {scan_verdict::pass, 2, "x/y@" + a_.str(), "", ""}), errc::not_found);
  EXPECT_FALSE(idx_->get_scan(a_)->has_value());
}

TEST_F(index_test, scan_rows_that_do_not_decode_are_corrupt) {
  put_raw("scans", a_.str(), std::string("\x01\x07", 2));  // verdict 7 does not exist
  reopen();
  EXPECT_EQ(idx_->get_scan(a_).error(), errc::corrupt_record);
  put_raw("scans", b_.str(), std::string("\x01\x00", 2));  // cut short
  reopen();
  EXPECT_EQ(idx_->get_scan(b_).error(), errc::corrupt_record);
}

}  // namespace
}  // namespace regcache::store
