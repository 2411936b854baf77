#include "regcache/cache/blob_body.hpp"

#include "regcache/cache/errc.hpp"
#include "regcache/store/errc.hpp"
#include "test_support.hpp"

#include <fstream>

namespace regcache::cache {
namespace {
using namespace std::chrono_literals;

// Deterministic bytes, so a misplaced piece shows.
std::string pattern(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return out;
}

// The bytes of a piece, read back from its file or memory.
std::string bytes_of(const body_piece& piece) {
  if (const auto* bytes = std::get_if<std::span<const std::byte>>(&piece))
    return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  const auto& segment = std::get<file_segment>(piece);
  std::string out(segment.length, '\0');
  const auto n = ::pread(segment.fd, out.data(), out.size(), static_cast<off_t>(segment.offset));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

// What a handler writing [offset, end) would have sent, and how it ended.
struct drained {
  std::string bytes;
  error_code error;
  std::size_t file_pieces = 0;
};

boost::asio::awaitable<drained> drain(blob_body* body, std::uint64_t offset, std::uint64_t end) {
  drained out;
  while (offset < end) {
    auto piece = co_await body->read(offset, end - offset);
    if (!piece) {
      out.error = piece.error();
      co_return out;
    }
    const auto n = length_of(*piece);
    if (n == 0) break;
    out.file_pieces += std::holds_alternative<file_segment>(*piece);
    out.bytes += bytes_of(*piece);
    offset += n;
  }
  co_return out;
}

boost::asio::awaitable<result<body_piece>> read_once(blob_body* body, std::uint64_t offset, std::uint64_t max) {
  co_return co_await body->read(offset, max);
}

class blob_body_test : public testing::cache_fixture {
 protected:
  body_origin origin_for(const core::digest& digest, std::string repository = "team/app") {
    return body_origin{source_, std::move(repository), digest, metrics_.get(), &clock_, 10s};
  }
  // A temp file holding `content`, as a fill's temp file would.
  std::shared_ptr<store::file_handle> file_with(const std::string& content) {
    const auto path = root_ / ("prefix-" + std::to_string(files_++));
    std::ofstream(path, std::ios::binary) << content;
    return std::make_shared<store::file_handle>(store::file_handle::open_read_only(path).value());
  }
  int files_ = 0;
};

TEST_F(blob_body_test, committed_yields_segments_of_the_file) {
  const auto content = pattern(1000);
  const auto digest = core::hasher::of(content);
  auto body = blob_body::committed(origin_for(digest), file_with(content), content.size());
  EXPECT_EQ(body.size(), 1000u);
  EXPECT_STREQ(body.outcome(), "hit");
  auto whole = run(drain(&body, 0, 1000));
  EXPECT_FALSE(whole.error);
  EXPECT_EQ(whole.bytes, content);
  EXPECT_EQ(whole.file_pieces, 1u) << "a committed body is one sendfile";
  auto range = run(drain(&body, 100, 200));
  EXPECT_EQ(range.bytes, content.substr(100, 100));
  auto past_end = run(read_once(&body, 1000, 10));
  ASSERT_TRUE(past_end);
  EXPECT_EQ(length_of(*past_end), 0u);
  EXPECT_EQ(metrics_->bytes_from_cache.value(), 1100u);
}

TEST_F(blob_body_test, relayed_whole_body_is_verified) {
  const auto content = pattern(600'000);
  const auto digest = upstream_.add_blob("team/app", content);
  auto body = run(blob_body::relayed(origin_for(digest), content.size()));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(upstream_.requests().size(), 0u) << "a known size asks nothing upstream before the first read";
  auto whole = run(drain(&*body, 0, content.size()));
  EXPECT_FALSE(whole.error) << whole.error.message();
  EXPECT_EQ(whole.bytes, content);
  EXPECT_EQ(whole.file_pieces, 0u);
  EXPECT_EQ(upstream_.requests(), std::vector<std::string>{"GET /v2/team/app/blobs/" + digest.str()});
  EXPECT_FALSE(blobs_->exists(digest)) << "relayed bytes are not cached";
}

TEST_F(blob_body_test, relayed_body_with_unknown_size_asks_upstream_for_it_at_once) {
  const auto content = pattern(5000);
  const auto digest = upstream_.add_blob("team/app", content);
  auto body = run(blob_body::relayed(origin_for(digest), std::nullopt));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(body->size(), 5000u);
  EXPECT_EQ(run(drain(&*body, 0, 5000)).bytes, content);
  EXPECT_EQ(upstream_.requests().size(), 1u) << "the stream opened for the size is the one read";
}

TEST_F(blob_body_test, relayed_whole_body_that_does_not_match_its_digest_is_cut_before_its_last_piece) {
  const auto content = pattern(600'000);
  const auto digest = core::hasher::of(content);
  auto wrong = content;
  wrong[wrong.size() - 1] ^= 1;
  upstream_.add_wrong_blob("team/app", digest, wrong);
  auto body = run(blob_body::relayed(origin_for(digest), content.size()));
  ASSERT_TRUE(body);
  auto whole = run(drain(&*body, 0, content.size()));
  EXPECT_EQ(whole.error, errc::digest_mismatch);
  EXPECT_LT(whole.bytes.size(), content.size()) << "the client never holds the complete wrong blob";
  EXPECT_EQ(metrics_->digest_mismatches.value(), 1u);
}

TEST_F(blob_body_test, relayed_range_asks_upstream_from_its_first_byte) {
  const auto content = pattern(100'000);
  const auto digest = upstream_.add_blob("team/app", content);
  auto body = run(blob_body::relayed(origin_for(digest), content.size()));
  ASSERT_TRUE(body);
  auto range = run(drain(&*body, 70'000, 80'000));
  EXPECT_FALSE(range.error) << range.error.message();
  EXPECT_EQ(range.bytes, content.substr(70'000, 10'000));
  EXPECT_EQ(upstream_.requests(),
            std::vector<std::string>{"GET /v2/team/app/blobs/" + digest.str() + " range=bytes=70000-"});
}

// The disk fills while a fill is streaming: the reader got the first bytes
// from the temp file and the rest comes from the upstream, the digest
// checked over both.
class disk_fills_mid_body : public blob_body_test {
 protected:
  static constexpr std::size_t size = 300'000;
  static constexpr std::size_t written = 120'000;

  // A fill that wrote `written` bytes of `content` and then found the disk
  // full, read by a body that received what was servable before that.
  drained read_across(const std::string& content, const core::digest& digest) {
    auto f = std::make_shared<fill>(digest);
    f->start_streaming(size, file_with(content.substr(0, written)));
    f->advance(written);
    auto body = blob_body::filling(origin_for(digest), f, f->observe());
    EXPECT_STREQ(body.outcome(), "miss");
    auto before = run(drain(&body, 0, written - 1));
    EXPECT_EQ(before.file_pieces, 1u);
    f->fail(store::errc::no_space);
    auto after = run(drain(&body, written - 1, size));
    after.bytes = before.bytes + after.bytes;
    return after;
  }
};

TEST_F(disk_fills_mid_body, the_rest_comes_from_upstream_verified_with_the_prefix) {
  const auto content = pattern(size);
  const auto digest = upstream_.add_blob("team/app", content);
  auto got = read_across(content, digest);
  EXPECT_FALSE(got.error) << got.error.message();
  EXPECT_EQ(got.bytes, content);
  EXPECT_EQ(upstream_.requests(), std::vector<std::string>{"GET /v2/team/app/blobs/" + digest.str() +
                                                           " range=bytes=" + std::to_string(written - 1) + "-"});
}

TEST_F(disk_fills_mid_body, a_rest_that_does_not_match_the_digest_is_cut) {
  const auto content = pattern(size);
  const auto digest = core::hasher::of(content);
  auto wrong = content;
  wrong[size - 10] ^= 1;
  upstream_.add_wrong_blob("team/app", digest, wrong);
  auto got = read_across(content, digest);
  EXPECT_EQ(got.error, errc::digest_mismatch);
  EXPECT_LT(got.bytes.size(), size);
}

// A fill from an upstream that stopped sending: its readers give up after
// the stall limit, measured on the injected clock.
TEST_F(blob_body_test, a_reader_of_a_stalled_fill_gives_up_after_the_stall_limit) {
  const auto content = pattern(50'000);
  const auto digest = upstream_.add_blob("team/app", content);
  upstream_.hold_from(100);
  source_->min_transfer.bytes_per_second = 0;
  fill_coordinator fills(make_context());
  auto f = fills.join(digest, source_, "team/app", ioc_.get_executor());
  ASSERT_TRUE(run_until([&] { return f->observe().written == 100; }));
  auto body = blob_body::filling(origin_for(digest), f, f->observe());
  auto first = run(drain(&body, 0, 99));
  EXPECT_EQ(first.bytes, content.substr(0, 99)) << "all but the last written byte is servable";

  std::optional<result<body_piece>> waiting;
  boost::asio::co_spawn(ioc_, testing::store_into(read_once(&body, 99, 1000), &waiting), boost::asio::detached);
  ASSERT_FALSE(run_until([&] { return waiting.has_value(); }, 100ms)) << "waits while within the stall limit";
  clock_.advance(11s);
  ASSERT_TRUE(run_until([&] { return waiting.has_value(); }, 2s));
  ASSERT_FALSE(*waiting);
  EXPECT_EQ(waiting->error(), errc::body_stalled);
  EXPECT_EQ(f->observe().state, fill::phase::streaming) << "one reader giving up does not end the fill";
  upstream_.release(content.size());
  ASSERT_TRUE(run_until([&] { return fills.in_flight() == 0; }));
  EXPECT_TRUE(blobs_->exists(digest));
}

}  // namespace
}  // namespace regcache::cache
