#include "regcache/store/index.hpp"

#include "regcache/store/errc.hpp"
#include "unit/store/test_support.hpp"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <map>
#include <thread>

namespace regcache::store {
namespace {

using testing::digest_of;

class index_test : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    idx_.reset();
    auto opened = index::open(dir_.path() / "index");
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    idx_ = std::move(*opened);
  }

  std::vector<std::pair<std::int64_t, core::digest>> lru_rows() const {
    std::vector<std::pair<std::int64_t, core::digest>> rows;
    EXPECT_FALSE(idx_->for_each_lru([&](std::int64_t ms, const core::digest& d) {
      rows.emplace_back(ms, d);
      return true;
    }));
    return rows;
  }

  static blob_record blob(std::uint64_t size, std::int64_t last_access_ms) {
    return {.size = size, .media_type = "application/vnd.oci.image.layer.v1.tar+gzip",
            .created_ms = 1'000, .last_access_ms = last_access_ms, .pinned = false};
  }

  // Writes a raw row behind the index's back, to model corruption on disk.
  // Closes the index; call reopen() afterwards.
  void put_raw(std::string_view family, std::string_view key, std::string_view value) {
    idx_.reset();
    const auto path = (dir_.path() / "index").string();
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &db).ok());
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] != family) continue;
      EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], rocksdb::Slice(key.data(), key.size()),
                          rocksdb::Slice(value.data(), value.size()))
                      .ok());
    }
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }

  testing::temp_dir dir_;
  std::unique_ptr<index> idx_;
  const core::digest a_ = digest_of("a");
  const core::digest b_ = digest_of("b");
  const core::digest c_ = digest_of("c");
};

TEST_F(index_test, an_open_index_takes_writes) { EXPECT_FALSE(idx_->check_writable()); }

TEST_F(index_test, blob_rows_round_trip) {
  auto missing = idx_->get_blob(a_);
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());

  auto record = blob(1234, 5'000);
  record.pinned = true;
  ASSERT_FALSE(idx_->put_blob(a_, record));
  auto got = idx_->get_blob(a_);
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ(**got, record);

  ASSERT_FALSE(idx_->remove_blob(a_));
  EXPECT_FALSE(idx_->get_blob(a_)->has_value());
  EXPECT_TRUE(lru_rows().empty());
  EXPECT_EQ(idx_->remove_blob(a_), errc::not_found);
}

TEST_F(index_test, empty_media_type_round_trips) {
  blob_record record{.size = 0, .media_type = "", .created_ms = -1, .last_access_ms = 0, .pinned = false};
  ASSERT_FALSE(idx_->put_blob(a_, record));
  EXPECT_EQ(**idx_->get_blob(a_), record);
}

TEST_F(index_test, put_blob_moves_its_single_lru_row) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 100)));
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 200)));
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 200)));
  const auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].first, 200);
  EXPECT_EQ(rows[0].second, a_);
}

TEST_F(index_test, for_each_blob_visits_all_and_stops_when_told) {
  for (const auto& d : {a_, b_, c_}) ASSERT_FALSE(idx_->put_blob(d, blob(10, 1)));
  std::vector<core::digest> seen;
  ASSERT_FALSE(idx_->for_each_blob([&](const core::digest& d, const blob_record& r) {
    EXPECT_EQ(r.size, 10u);
    seen.push_back(d);
    return true;
  }));
  std::vector<core::digest> sorted{a_, b_, c_};
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(seen, sorted);

  std::size_t visits = 0;
  ASSERT_FALSE(idx_->for_each_blob([&](const core::digest&, const blob_record&) { return ++visits < 2; }));
  EXPECT_EQ(visits, 2u);
}

TEST_F(index_test, lru_is_oldest_first_including_times_before_the_epoch) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 300)));
  ASSERT_FALSE(idx_->put_blob(b_, blob(1, -5)));
  ASSERT_FALSE(idx_->put_blob(c_, blob(1, 20)));
  const auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], std::make_pair(std::int64_t{-5}, b_));
  EXPECT_EQ(rows[1], std::make_pair(std::int64_t{20}, c_));
  EXPECT_EQ(rows[2], std::make_pair(std::int64_t{300}, a_));

  std::size_t visits = 0;
  ASSERT_FALSE(idx_->for_each_lru([&](std::int64_t, const core::digest&) { return ++visits < 1; }));
  EXPECT_EQ(visits, 1u);
}

TEST_F(index_test, access_times_wait_in_memory_until_flushed) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 100)));
  ASSERT_FALSE(idx_->put_blob(b_, blob(1, 200)));
  ASSERT_FALSE(idx_->put_blob(c_, blob(1, 300)));

  idx_->record_access(a_, 1'000);
  idx_->record_access(a_, 900);  // out of order: the latest time wins
  idx_->record_access(b_, 50);   // older than the row: ignored
  idx_->record_access(digest_of("unknown"), 5'000);
  EXPECT_EQ((*idx_->get_blob(a_))->last_access_ms, 100) << "record_access does not write";

  ASSERT_FALSE(idx_->flush_access_times());
  EXPECT_EQ((*idx_->get_blob(a_))->last_access_ms, 1'000);
  EXPECT_EQ((*idx_->get_blob(b_))->last_access_ms, 200);
  EXPECT_EQ((*idx_->get_blob(a_))->media_type, blob(1, 0).media_type) << "other fields are kept";
  EXPECT_FALSE(idx_->get_blob(digest_of("unknown"))->has_value()) << "no row is invented";

  const auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].second, b_);
  EXPECT_EQ(rows[1].second, c_);
  EXPECT_EQ(rows[2], std::make_pair(std::int64_t{1'000}, a_));

  ASSERT_FALSE(idx_->flush_access_times()) << "nothing pending is fine";
  EXPECT_EQ(lru_rows(), rows);
}

TEST_F(index_test, flush_does_not_resurrect_a_removed_blob) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 100)));
  idx_->record_access(a_, 500);
  ASSERT_FALSE(idx_->remove_blob(a_));
  ASSERT_FALSE(idx_->flush_access_times());
  EXPECT_FALSE(idx_->get_blob(a_)->has_value());
  EXPECT_TRUE(lru_rows().empty());
}

TEST_F(index_test, manifest_rows_round_trip) {
  EXPECT_FALSE(idx_->get_manifest(a_)->has_value());
  const manifest_record record{.media_type = "application/vnd.oci.image.manifest.v1+json",
                               .bytes = std::string("{\"schemaVersion\":2}\0binary", 26),
                               .created_ms = 7, .last_access_ms = 8};
  ASSERT_FALSE(idx_->put_manifest(a_, record));
  EXPECT_EQ(**idx_->get_manifest(a_), record);
  ASSERT_FALSE(idx_->remove_manifest(a_));
  EXPECT_FALSE(idx_->get_manifest(a_)->has_value());
  EXPECT_EQ(idx_->remove_manifest(a_), errc::not_found);
}

TEST_F(index_test, manifest_access_time_moves_in_coarse_steps) {
  const std::int64_t t0 = 1'700'000'000'000;
  ASSERT_FALSE(idx_->put_manifest(a_, {.media_type = "m", .bytes = "{}", .created_ms = t0, .last_access_ms = t0}));
  idx_->record_access(a_, t0 + 1'000);
  ASSERT_FALSE(idx_->flush_access_times());
  EXPECT_EQ((*idx_->get_manifest(a_))->last_access_ms, t0);

  idx_->record_access(a_, t0 + index::manifest_access_granularity_ms);
  ASSERT_FALSE(idx_->flush_access_times());
  EXPECT_EQ((*idx_->get_manifest(a_))->last_access_ms, t0 + index::manifest_access_granularity_ms);
  EXPECT_EQ((*idx_->get_manifest(a_))->bytes, "{}");
}

TEST_F(index_test, for_each_manifest_visits_all_in_digest_order_and_stops_when_told) {
  for (const auto& d : {a_, b_, c_})
    ASSERT_FALSE(idx_->put_manifest(d, {.media_type = "m", .bytes = d.str(), .created_ms = 1, .last_access_ms = 2}));
  std::vector<core::digest> seen;
  ASSERT_FALSE(idx_->for_each_manifest([&](const core::digest& d, const manifest_record& r) {
    EXPECT_EQ(r.bytes, d.str());
    seen.push_back(d);
    return true;
  }));
  auto sorted = std::vector<core::digest>{a_, b_, c_};
  std::sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) { return x.str() < y.str(); });
  EXPECT_EQ(seen, sorted);

  std::size_t visited = 0;
  ASSERT_FALSE(idx_->for_each_manifest([&](const core::digest&, const manifest_record&) { return ++visited < 2; }));
  EXPECT_EQ(visited, 2u);
}

TEST_F(index_test, pin_rows_round_trip_overwrite_and_remove) {
  EXPECT_FALSE(idx_->get_pin("docker.io", "library/alpine", "3.19")->has_value());
  const pin_record record{.digest = a_, .platforms = {"linux/amd64", "linux/arm64/v8"}, .pinned_at_ms = -5};
  ASSERT_FALSE(idx_->put_pin("docker.io", "library/alpine", "3.19", record));
  EXPECT_EQ(**idx_->get_pin("docker.io", "library/alpine", "3.19"), record);
  EXPECT_FALSE(idx_->get_pin("docker.io", "library/alpine", "3.20")->has_value());

  const pin_record all_platforms{.digest = b_, .platforms = {}, .pinned_at_ms = 7};
  ASSERT_FALSE(idx_->put_pin("docker.io", "library/alpine", "3.19", all_platforms));
  EXPECT_EQ(**idx_->get_pin("docker.io", "library/alpine", "3.19"), all_platforms);

  ASSERT_FALSE(idx_->remove_pin("docker.io", "library/alpine", "3.19"));
  EXPECT_FALSE(idx_->get_pin("docker.io", "library/alpine", "3.19")->has_value());
  EXPECT_EQ(idx_->remove_pin("docker.io", "library/alpine", "3.19"), errc::not_found);
}

TEST_F(index_test, for_each_pin_decodes_every_row_and_pins_persist) {
  ASSERT_FALSE(idx_->put_pin("docker.io", "library/alpine", "3.19", {a_, {"linux/amd64"}, 1}));
  ASSERT_FALSE(idx_->put_pin("ghcr.io", "org/app", b_.str(), {b_, {}, 2}));
  reopen();
  std::map<std::string, pin_record> seen;
  ASSERT_FALSE(idx_->for_each_pin(
      [&](std::string_view upstream, std::string_view repository, std::string_view reference, const pin_record& r) {
        seen.insert_or_assign(std::string(upstream) + "|" + std::string(repository) + "|" + std::string(reference), r);
        return true;
      }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.at("docker.io|library/alpine|3.19"), (pin_record{a_, {"linux/amd64"}, 1}));
  EXPECT_EQ(seen.at("ghcr.io|org/app|" + b_.str()), (pin_record{b_, {}, 2}));
}

TEST_F(index_test, undecodable_pin_rows_are_reported) {
  ASSERT_FALSE(idx_->put_pin("docker.io", "r", "t", {a_, {"linux/amd64"}, 1}));
  std::string key;
  for (const std::string_view part : {"docker.io", "r"}) {
    key += std::string{'\0', '\0', '\0', static_cast<char>(part.size())};
    key += part;
  }
  key += "bad";
  // A platform count far beyond the bytes that follow.
  put_raw("pins", key, std::string("\x01\0\0\0\x01x", 6) + std::string(8, '\0') + "\xff\xff\xff\xff");
  reopen();
  EXPECT_EQ(idx_->get_pin("docker.io", "r", "bad").error(), errc::corrupt_record);
  EXPECT_EQ(idx_->for_each_pin([](auto, auto, auto, const auto&) { return true; }), errc::corrupt_record);
  EXPECT_EQ(**idx_->get_pin("docker.io", "r", "t"), (pin_record{a_, {"linux/amd64"}, 1}));
}

TEST_F(index_test, an_index_from_before_pins_opens_and_gains_them) {
  idx_.reset();
  const auto path = (dir_.path() / "old-index").string();
  {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const char* name : {"default", "blobs", "lru", "manifests", "tags", "links"})
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, path, descriptors, &handles, &db).ok());
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[0], "schema_version", "\x01").ok());
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }
  auto opened = index::open(path);
  ASSERT_TRUE(opened.has_value()) << opened.error().message();
  EXPECT_FALSE((*opened)->get_pin("docker.io", "r", "t")->has_value());
  ASSERT_FALSE((*opened)->put_pin("docker.io", "r", "t", {a_, {}, 1}));
  EXPECT_EQ((*(*opened)->get_pin("docker.io", "r", "t"))->digest, a_);
}

TEST_F(index_test, tag_rows_round_trip_and_overwrite) {
  EXPECT_FALSE(idx_->get_tag("docker.io", "library/alpine", "3.19")->has_value());
  const tag_record first{a_, "application/vnd.oci.image.index.v1+json", 10, "\"etag-1\""};
  ASSERT_FALSE(idx_->put_tag("docker.io", "library/alpine", "3.19", first));
  EXPECT_EQ(**idx_->get_tag("docker.io", "library/alpine", "3.19"), first);

  const tag_record second{b_, "application/vnd.oci.image.manifest.v1+json", 20, ""};
  ASSERT_FALSE(idx_->put_tag("docker.io", "library/alpine", "3.19", second));
  EXPECT_EQ(**idx_->get_tag("docker.io", "library/alpine", "3.19"), second);

  ASSERT_FALSE(idx_->remove_tag("docker.io", "library/alpine", "3.19"));
  EXPECT_FALSE(idx_->get_tag("docker.io", "library/alpine", "3.19")->has_value());
  EXPECT_EQ(idx_->remove_tag("docker.io", "library/alpine", "3.19"), errc::not_found);
}

TEST_F(index_test, list_tags_is_isolated_by_repository_and_upstream) {
  const tag_record t{a_, "m", 1, ""};
  for (const auto* tag : {"v2", "latest", "v1"}) ASSERT_FALSE(idx_->put_tag("docker.io", "repo", tag, t));
  ASSERT_FALSE(idx_->put_tag("docker.io", "repo2", "other", t));
  ASSERT_FALSE(idx_->put_tag("docker.io", "repo/sub", "nested", t));
  ASSERT_FALSE(idx_->put_tag("docker.io", "rep", "o:short", t));
  ASSERT_FALSE(idx_->put_tag("ghcr.io", "repo", "foreign", t));

  auto tags = idx_->list_tags("docker.io", "repo");
  ASSERT_TRUE(tags.has_value());
  EXPECT_EQ(*tags, (std::vector<std::string>{"latest", "v1", "v2"}));
  EXPECT_EQ(*idx_->list_tags("docker.io", "repo2"), std::vector<std::string>{"other"});
  EXPECT_EQ(*idx_->list_tags("docker.io", "repo/sub"), std::vector<std::string>{"nested"});
  EXPECT_EQ(*idx_->list_tags("docker.io", "rep"), std::vector<std::string>{"o:short"});
  EXPECT_EQ(*idx_->list_tags("ghcr.io", "repo"), std::vector<std::string>{"foreign"});
  EXPECT_TRUE(idx_->list_tags("quay.io", "repo")->empty());
  EXPECT_TRUE(idx_->list_tags("docker.io", "re")->empty());
}

TEST_F(index_test, names_with_separator_bytes_stay_unambiguous) {
  const tag_record t{a_, "m", 1, ""};
  const std::string nul_repo("a\0b", 3);
  ASSERT_FALSE(idx_->put_tag("h", nul_repo, "t", t));
  ASSERT_FALSE(idx_->put_tag("h", "a", std::string("\0b\0t", 4), t));
  EXPECT_EQ(*idx_->list_tags("h", nul_repo), std::vector<std::string>{"t"});
  EXPECT_EQ(*idx_->list_tags("h", "a"), std::vector<std::string>{std::string("\0b\0t", 4)});
}

TEST_F(index_test, for_each_tag_decodes_every_row) {
  ASSERT_FALSE(idx_->put_tag("docker.io", "library/alpine", "3.19", {a_, "m1", 1, "e1"}));
  ASSERT_FALSE(idx_->put_tag("ghcr.io", "org/app", "main", {b_, "m2", 2, "e2"}));
  std::map<std::string, std::string> seen;
  ASSERT_FALSE(idx_->for_each_tag([&](std::string_view up, std::string_view repo, std::string_view tag,
                                      const tag_record& r) {
    seen[std::string(up) + "/" + std::string(repo) + ":" + std::string(tag)] = r.digest.str() + " " + r.etag;
    return true;
  }));
  EXPECT_EQ(seen, (std::map<std::string, std::string>{{"docker.io/library/alpine:3.19", a_.str() + " e1"},
                                                      {"ghcr.io/org/app:main", b_.str() + " e2"}}));
}

TEST_F(index_test, links_are_per_upstream_repository_and_digest) {
  EXPECT_FALSE(*idx_->has_link("docker.io", "library/alpine", a_));
  ASSERT_FALSE(idx_->put_link("docker.io", "library/alpine", a_, 42));
  EXPECT_TRUE(*idx_->has_link("docker.io", "library/alpine", a_));
  EXPECT_FALSE(*idx_->has_link("docker.io", "library/alpine", b_));
  EXPECT_FALSE(*idx_->has_link("docker.io", "library/alpine2", a_));
  EXPECT_FALSE(*idx_->has_link("docker.io", "library", a_));
  EXPECT_FALSE(*idx_->has_link("ghcr.io", "library/alpine", a_));
}

TEST_F(index_test, compute_stats_counts_everything) {
  auto empty = idx_->compute_stats();
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->blob_count, 0u);
  EXPECT_EQ(empty->blob_bytes, 0u);

  ASSERT_FALSE(idx_->put_blob(a_, blob(100, 1)));
  ASSERT_FALSE(idx_->put_blob(b_, blob(23, 1)));
  ASSERT_FALSE(idx_->put_manifest(c_, {.media_type = "m", .bytes = "{}", .created_ms = 0, .last_access_ms = 0}));
  ASSERT_FALSE(idx_->put_tag("h", "r", "t1", {c_, "m", 1, ""}));
  ASSERT_FALSE(idx_->put_tag("h", "r", "t2", {c_, "m", 1, ""}));
  ASSERT_FALSE(idx_->put_tag("h", "r2", "t1", {c_, "m", 1, ""}));
  ASSERT_FALSE(idx_->put_link("h", "r", a_, 1));

  auto s = idx_->compute_stats();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->blob_count, 2u);
  EXPECT_EQ(s->blob_bytes, 123u);
  EXPECT_EQ(s->manifest_count, 1u);
  EXPECT_EQ(s->tag_count, 3u);
}

TEST_F(index_test, everything_persists_across_reopen) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(5, 100)));
  ASSERT_FALSE(idx_->put_blob(b_, blob(6, 200)));
  ASSERT_FALSE(idx_->put_manifest(c_, {.media_type = "m", .bytes = "{}", .created_ms = 1, .last_access_ms = 1}));
  ASSERT_FALSE(idx_->put_tag("docker.io", "library/alpine", "3.19", {c_, "m", 9, "e"}));
  ASSERT_FALSE(idx_->put_link("docker.io", "library/alpine", a_, 9));
  idx_->record_access(a_, 300);  // pending only: the destructor flushes it

  reopen();
  EXPECT_EQ(**idx_->get_blob(b_), blob(6, 200));
  EXPECT_EQ((*idx_->get_blob(a_))->last_access_ms, 300);
  EXPECT_EQ((*idx_->get_manifest(c_))->bytes, "{}");
  EXPECT_EQ((*idx_->get_tag("docker.io", "library/alpine", "3.19"))->etag, "e");
  EXPECT_TRUE(*idx_->has_link("docker.io", "library/alpine", a_));
  const auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].second, b_);
  EXPECT_EQ(rows[1], std::make_pair(std::int64_t{300}, a_));
}

TEST_F(index_test, second_open_of_the_same_directory_fails) {
  auto second = index::open(dir_.path() / "index");
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error(), errc::index_error);
}

TEST_F(index_test, open_fails_on_a_file) {
  testing::write_file(dir_.path() / "file", "x");
  auto opened = index::open(dir_.path() / "file");
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error(), errc::io_error);
}

TEST_F(index_test, other_schema_version_is_refused) {
  put_raw("default", "schema_version", "\x02");
  auto opened = index::open(dir_.path() / "index");
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error(), errc::corrupt_record);
}

TEST_F(index_test, undecodable_rows_are_reported_and_repaired) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 100)));
  ASSERT_FALSE(idx_->put_blob(b_, blob(2, 200)));
  put_raw("blobs", b_.str(), "\x01short");
  put_raw("blobs", "not a digest", std::string("\x01\0", 2) + std::string(24, '\0'));
  put_raw("manifests", c_.str(), "\x07{}");
  put_raw("tags", "garbage", "\x01");
  reopen();

  EXPECT_EQ(idx_->get_blob(b_).error(), errc::corrupt_record);
  EXPECT_EQ(idx_->get_manifest(c_).error(), errc::corrupt_record);
  EXPECT_EQ(idx_->for_each_blob([](const core::digest&, const blob_record&) { return true; }),
            errc::corrupt_record);
  EXPECT_EQ(idx_->for_each_tag([](auto, auto, auto, const tag_record&) { return true; }), errc::corrupt_record);
  EXPECT_EQ(idx_->compute_stats().error(), errc::corrupt_record);

  auto dropped = idx_->repair();
  ASSERT_TRUE(dropped.has_value());
  EXPECT_EQ(*dropped, 2u);
  EXPECT_FALSE(idx_->get_blob(b_)->has_value());
  const auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 1u) << "b's lru row went with its blob row";
  EXPECT_EQ(rows[0], std::make_pair(std::int64_t{100}, a_));
  EXPECT_EQ(idx_->compute_stats()->blob_count, 1u);
}

TEST_F(index_test, repair_rebuilds_missing_and_stale_lru_rows) {
  ASSERT_FALSE(idx_->put_blob(a_, blob(1, 100)));
  // A lru row for a blob that has no row, and one with a stale time.
  std::string orphan(8, '\0');
  orphan[0] = static_cast<char>(0x80);
  orphan[7] = 50;
  put_raw("lru", orphan + b_.str(), "");
  put_raw("lru", orphan + a_.str(), "");
  put_raw("lru", "junk", "");
  reopen();

  ASSERT_EQ(*idx_->repair(), 0u);
  auto rows = lru_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], std::make_pair(std::int64_t{100}, a_));
}

TEST_F(index_test, concurrent_access_flushes_and_puts_keep_lru_consistent) {
  std::vector<core::digest> digests;
  for (int i = 0; i < 32; ++i) digests.push_back(digest_of("blob " + std::to_string(i)));
  for (const auto& d : digests) ASSERT_FALSE(idx_->put_blob(d, blob(1, 0)));

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const auto& d = digests[(i * 7 + t) % digests.size()];
        idx_->record_access(d, i * 10 + t);
        if (i % 20 == 0) {
          EXPECT_FALSE(idx_->flush_access_times());
        }
        if (t == 0 && i % 50 == 0) {
          EXPECT_FALSE(idx_->put_blob(d, blob(2, i)));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_FALSE(idx_->flush_access_times());

  std::map<core::digest, std::int64_t> from_blobs;
  ASSERT_FALSE(idx_->for_each_blob([&](const core::digest& d, const blob_record& r) {
    from_blobs[d] = r.last_access_ms;
    return true;
  }));
  std::map<core::digest, std::int64_t> from_lru;
  for (const auto& [ms, d] : lru_rows()) EXPECT_TRUE(from_lru.emplace(d, ms).second) << "one lru row per blob";
  EXPECT_EQ(from_blobs, from_lru);
  EXPECT_EQ(*idx_->repair(), 0u);
  EXPECT_EQ(lru_rows().size(), digests.size());
}

}  // namespace
}  // namespace regcache::store
