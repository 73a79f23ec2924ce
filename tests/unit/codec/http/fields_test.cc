// Fields as views into bytes they own, parsers reused across messages, and the head scan that
// resumes where it stopped: what the proxy relies on to parse heads without allocating.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codec/http/headers.h"
#include "codec/http/message.h"
#include "codec/http/parser.h"

namespace phigate::http {
namespace {

std::vector<std::string> names_values(const Fields& f) {
  std::vector<std::string> out;
  for (const Field& fl : f.list) out.push_back(std::string(fl.name) + "=" + std::string(fl.value));
  return out;
}

TEST(HttpFields, ViewsFollowMovesOfShortStorage) {
  // Two bytes fit in std::string's inline buffer: a move copies them, the views must follow.
  Fields a;
  a.add("a", "b");
  Fields b(std::move(a));
  a.add("xx", "yy");  // the moved-from object is reusable and does not share bytes
  EXPECT_EQ(names_values(b), (std::vector<std::string>{"a=b"}));
  Fields c;
  c = std::move(b);
  b.add("q", "r");
  EXPECT_EQ(names_values(c), (std::vector<std::string>{"a=b"}));
  EXPECT_EQ(names_values(a), (std::vector<std::string>{"xx=yy"}));
}

TEST(HttpFields, ViewsSurviveGrowthCopiesAndSelfReference) {
  Fields f;
  for (int i = 0; i < 50; ++i) f.add("Name-" + std::to_string(i), std::string(40, 'a' + i % 26));
  ASSERT_EQ(f.list.size(), 50u);
  EXPECT_EQ(f.list[0].name, "Name-0");
  EXPECT_EQ(f.list[0].value, std::string(40, 'a'));
  EXPECT_EQ(f.list[49].value, std::string(40, 'a' + 49 % 26));
  Fields copy = f;
  f.clear();
  f.add("other", "bytes over the old ones, long enough to need the heap");
  ASSERT_EQ(copy.list.size(), 50u);
  EXPECT_EQ(copy.list[27].name, "Name-27");
  EXPECT_EQ(copy.list[27].value, std::string(40, 'a' + 1));
  // set() with a name and value that are views into the same Fields, while it grows.
  Fields g;
  g.add("X-One", "first value");
  for (int i = 0; i < 20; ++i) g.set(g.list.front().name, g.list.front().value);
  ASSERT_EQ(g.list.size(), 1u);
  EXPECT_EQ(names_values(g), (std::vector<std::string>{"X-One=first value"}));
  const std::string_view* v = g.find("x-one");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, "first value");
}

TEST(HttpHeadScan, ResumesAtEverySplitWithTheSameOutcome) {
  const std::vector<std::string> wires = {
      "GET / HTTP/1.1\r\nHost: h\r\nX-Long-Field: " + std::string(100, 'v') + "\r\n\r\nbody",
      "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",            // obs-fold
      "GET / HTTP/1.1\r\nHost: h\rX: a\r\n\r\n",                    // bare CR
      "GET / HTTP/1.1\r\nHost: h\nX: a\r\n\r\n",                    // bare LF
      "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n",              // DEL
      "GET / HTTP/1.1\r\nHost: h\r\nX: \xc3\xa9t\xc3\xa9\r\n\r\n",  // obs-text is fine
      "\r\n\r\n",
      "GET / HTTP/1.1\r\nHost:\th\t\r\nX-Tabs:\t\ta\tb\t\r\n\r\n",  // HTAB is fine
      std::string("GET / HTTP/1.1\r\nHost: h\r\nX: 0123456789abcdef") + '\0' + "\r\n\r\n",  // NUL
  };
  for (const std::string& wire : wires) {
    size_t whole_pos = 0;
    const HeadScan whole = scan_head(wire, whole_pos, 1 << 20);
    ASSERT_NE(whole.result, HeadScan::kNeedMore) << wire;
    for (size_t step = 1; step <= wire.size(); ++step) {
      size_t pos = 0;
      HeadScan r;
      for (size_t have = std::min(step, wire.size());; have = std::min(have + step, wire.size())) {
        r = scan_head(std::string_view(wire).substr(0, have), pos, 1 << 20);
        if (r.result != HeadScan::kNeedMore || have == wire.size()) break;
      }
      ASSERT_EQ(r.result, whole.result) << "step " << step << ": " << wire;
      EXPECT_EQ(r.size, whole.size) << step;
      EXPECT_EQ(r.err.code, whole.err.code) << step;
    }
  }
  size_t pos = 0;
  EXPECT_EQ(scan_head(wires[0], pos, 1 << 20).size, wires[0].size() - 4);
  pos = 0;
  EXPECT_EQ(scan_head(wires[1], pos, 1 << 20).err.code, "obs_fold");
  pos = 0;
  EXPECT_EQ(scan_head(wires[4], pos, 1 << 20).err.code, "invalid_byte");
  pos = 0;
  EXPECT_EQ(scan_head(wires[7], pos, 1 << 20).result, HeadScan::kComplete);
  pos = 0;
  EXPECT_EQ(scan_head(wires[8], pos, 1 << 20).err.code, "invalid_byte");
  pos = 0;
  EXPECT_EQ(scan_head(wires[5], pos, 1 << 20).result, HeadScan::kComplete);
  // Bytes past the limit are not looked at: the head is incomplete there.
  pos = 0;
  EXPECT_EQ(scan_head(wires[0], pos, 20).result, HeadScan::kNeedMore);
}

// One parser for several pipelined requests, byte by byte, as a keep-alive session uses it: each
// head moved out stays valid after the parser went on to the next message.
TEST(HttpParser, ResetBetweenPipelinedMessagesAtEverySplit) {
  const std::string wire =
      "POST /first HTTP/1.1\r\nHost: one\r\nContent-Length: 3\r\nX-A: " + std::string(30, 'a') +
      "\r\n\r\nabc"
      "GET /second HTTP/1.1\r\nHost: two\r\nX-B: b\r\n\r\n"
      "PUT /third HTTP/1.1\r\nHost: three\r\nTransfer-Encoding: "
      "chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
  for (size_t step = 1; step <= wire.size(); ++step) {
    RequestParser parser;
    std::vector<RequestHead> heads;
    std::vector<std::string> bodies;
    std::string buf, body;
    size_t fed = 0;
    for (;;) {
      size_t consumed = 0;
      ParseStatus st = parser.feed(buf, consumed, body);
      buf.erase(0, consumed);
      ASSERT_NE(st, ParseStatus::kError) << step << " " << parser.error().code;
      if (st == ParseStatus::kHeader) heads.push_back(std::move(parser.head()));
      if (st == ParseStatus::kDone) {
        bodies.push_back(body);
        body.clear();
        if (bodies.size() == 3) break;
        parser.reset();
        continue;
      }
      if (st == ParseStatus::kNeedMore) {
        ASSERT_LT(fed, wire.size()) << step;
        size_t n = std::min(step, wire.size() - fed);
        buf.append(wire, fed, n);
        fed += n;
      }
    }
    ASSERT_EQ(heads.size(), 3u) << step;
    EXPECT_EQ(heads[0].target, "/first");
    EXPECT_EQ(
        names_values(heads[0].fields),
        (std::vector<std::string>{"Host=one", "Content-Length=3", "X-A=" + std::string(30, 'a')}));
    EXPECT_EQ(heads[1].method, "GET");
    EXPECT_EQ(names_values(heads[1].fields), (std::vector<std::string>{"Host=two", "X-B=b"}));
    EXPECT_TRUE(heads[2].framing.chunked);
    ASSERT_NE(heads[2].fields.find("host"), nullptr);
    EXPECT_EQ(*heads[2].fields.find("host"), "three");
    EXPECT_EQ(bodies, (std::vector<std::string>{"abc", "", "hi"})) << step;
    EXPECT_TRUE(buf.empty());
  }
}

// A reset parser forgets the previous message's framing fields: one Content-Length per message
// is fine, two in one message are refused.
TEST(HttpParser, ResetForgetsFramingOfThePreviousMessage) {
  RequestParser parser;
  std::string body;
  size_t consumed = 0;
  std::string a = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(parser.feed(a, consumed, body), ParseStatus::kHeader);
  parser.reset();
  ASSERT_EQ(parser.feed(a, consumed, body), ParseStatus::kHeader);
  EXPECT_EQ(parser.head().fields.list.size(), 2u);
  parser.reset();
  std::string b = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(parser.feed(b, consumed, body), ParseStatus::kError);
  EXPECT_EQ(parser.error().code, "duplicate_content_length");
  parser.reset();
  ASSERT_EQ(parser.feed(a, consumed, body), ParseStatus::kHeader);
  EXPECT_TRUE(parser.error().code.empty());
}

TEST(HttpParser, ResponseParserResetSwitchesHeadMode) {
  ResponseParser rp(true);
  std::string body;
  size_t consumed = 0;
  std::string w = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  ASSERT_EQ(rp.feed(w, consumed, body), ParseStatus::kHeader);
  EXPECT_FALSE(rp.head().framing.has_body());  // the answer to HEAD
  rp.reset(false);
  ASSERT_EQ(rp.feed(w, consumed, body), ParseStatus::kHeader);
  EXPECT_EQ(rp.head().framing.content_length, 3u);
  std::string rest = w.substr(consumed);
  EXPECT_EQ(rp.feed(rest, consumed, body), ParseStatus::kDone);
  EXPECT_EQ(body, "abc");
  EXPECT_EQ(rp.head().status, 200);
  EXPECT_EQ(rp.head().reason, "OK");
}

// Trailer fields arrive after the head was handed over: they are copied (the caller's buffer
// moves on), and count against max_fields with the head's whether or not it was moved out.
TEST(HttpParser, TrailersAfterTheHeadMovedOut) {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string rest = "1\r\nx\r\n0\r\nX-Trailer: kept\r\n\r\n";
  for (bool move_out : {false, true}) {
    RequestParser parser;
    std::string body;
    size_t consumed = 0;
    ASSERT_EQ(parser.feed(head, consumed, body), ParseStatus::kHeader);
    RequestHead taken;
    if (move_out) taken = std::move(parser.head());
    std::string buf = rest;
    ASSERT_EQ(parser.feed(buf, consumed, body), ParseStatus::kDone) << parser.error().code;
    buf.assign(buf.size(), '#');  // the caller's bytes are gone
    const std::string_view* t = parser.head().fields.find("x-trailer");
    ASSERT_NE(t, nullptr) << move_out;
    EXPECT_EQ(*t, "kept");
    EXPECT_EQ(body, "x");

    RequestParser small(Limits{64 * 1024, 3});
    ASSERT_EQ(small.feed(head, consumed, body), ParseStatus::kHeader);
    if (move_out) taken = std::move(small.head());
    std::string two = "0\r\nA: 1\r\nB: 2\r\n\r\n";
    EXPECT_EQ(small.feed(two, consumed, body), ParseStatus::kError) << move_out;
    EXPECT_EQ(small.error().code, "too_many_fields") << move_out;
  }
}

// Connection tokens past the ones HopFilter keeps inline are honoured as well.
TEST(HttpHeaders, HopFilterManyConnectionTokens) {
  Fields f;
  std::string conn = "Host, Content-Length";
  for (int i = 0; i < 12; ++i) conn += ", X-T" + std::to_string(i);
  f.add("Connection", conn);
  HopFilter hop(f);
  for (int i = 0; i < 12; ++i) EXPECT_TRUE(hop.drops("x-t" + std::to_string(i))) << i;
  EXPECT_TRUE(hop.drops("keep-alive"));
  EXPECT_FALSE(hop.drops("host"));
  EXPECT_FALSE(hop.drops("content-length"));
  EXPECT_FALSE(hop.drops("X-T12"));
}

}  // namespace
}  // namespace phigate::http
