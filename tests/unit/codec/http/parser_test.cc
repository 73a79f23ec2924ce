#include "codec/http/parser.h"

#include <gtest/gtest.h>

#include "codec/http/headers.h"
#include "codec/http/target.h"

namespace phigate::http {
namespace {

struct Parsed {
  ParseStatus last = ParseStatus::kNeedMore;
  RequestHead head;
  std::string body;
  ParseError err;
  size_t leftover = 0;
};

// Feeds `wire` in pieces of `step` bytes (the whole buffered rest each time, as a session does).
Parsed parse(std::string_view wire, size_t step) {
  Parsed p;
  RequestParser parser;
  std::string buf;
  size_t fed = 0;
  for (;;) {
    size_t consumed = 0;
    p.last = parser.feed(buf, consumed, p.body);
    buf.erase(0, consumed);
    if (p.last == ParseStatus::kError) {
      p.err = parser.error();
      return p;
    }
    if (p.last == ParseStatus::kHeader) p.head = parser.head();
    if (p.last == ParseStatus::kDone) break;
    if (p.last == ParseStatus::kNeedMore || p.last == ParseStatus::kBody ||
        p.last == ParseStatus::kHeader) {
      if (p.last == ParseStatus::kNeedMore && fed == wire.size()) return p;
      if (p.last == ParseStatus::kNeedMore) {
        size_t n = std::min(step, wire.size() - fed);
        buf.append(wire.substr(fed, n));
        fed += n;
      }
    }
  }
  p.leftover = buf.size() + (wire.size() - fed);
  return p;
}

TEST(HttpParser, ChunkedRequestAtEverySplit) {
  const std::string wire =
      "POST /a/b?x=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  for (size_t step = 1; step <= wire.size(); ++step) {
    Parsed p = parse(wire, step);
    ASSERT_EQ(p.last, ParseStatus::kDone) << "step " << step << " " << p.err.message;
    EXPECT_EQ(p.head.method, "POST");
    EXPECT_EQ(p.head.target, "/a/b?x=1");
    EXPECT_TRUE(p.head.framing.chunked);
    EXPECT_EQ(p.body, "hello world") << step;
    EXPECT_EQ(p.leftover, std::string("GET /next HTTP/1.1\r\nHost: h\r\n\r\n").size()) << step;
  }
}

TEST(HttpParser, ContentLengthBodyAndKeepAlive) {
  Parsed p = parse("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcdef", 4);
  ASSERT_EQ(p.last, ParseStatus::kDone);
  EXPECT_EQ(p.body, "abc");
  EXPECT_TRUE(p.head.framing.keep_alive);
  EXPECT_EQ(p.leftover, 3u);
  p = parse("GET / HTTP/1.0\r\n\r\n", 100);
  ASSERT_EQ(p.last, ParseStatus::kDone);
  EXPECT_FALSE(p.head.framing.keep_alive);
}

struct Bad {
  const char* name;
  const char* wire;
  int status;
};

class HttpParserRefuses : public ::testing::TestWithParam<Bad> {};

TEST_P(HttpParserRefuses, AtEverySplit) {
  const Bad& b = GetParam();
  std::string wire = b.wire;
  for (size_t step = 1; step <= wire.size(); ++step) {
    Parsed p = parse(wire, step);
    ASSERT_EQ(p.last, ParseStatus::kError) << b.name << " step " << step;
    EXPECT_EQ(p.err.status, b.status) << b.name << ": " << p.err.code;
    EXPECT_FALSE(p.err.code.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Smuggling, HttpParserRefuses,
    ::testing::Values(
        Bad{"cl_te",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: "
            "chunked\r\n\r\n0\r\n\r\n",
            400},
        Bad{"te_cl",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: "
            "3\r\n\r\n0\r\n\r\n",
            400},
        Bad{"dup_cl",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
        Bad{"cl_list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3,3\r\n\r\nabc", 400},
        Bad{"cl_sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -3\r\n\r\nabc", 400},
        Bad{"obs_fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},
        Bad{"te_gzip",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
        Bad{"te_twice",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
            "chunked\r\n\r\n0\r\n\r\n",
            400},
        Bad{"te_10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        Bad{"bad_chunk",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
            "chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            400},
        Bad{"chunk_overflow",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
            "chunked\r\n\r\nfffffffffffffffffff\r\n",
            400},
        Bad{"chunk_no_crlf",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX0\r\n\r\n",
            400},
        Bad{"ctl", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n", 400},
        Bad{"bare_lf", "GET / HTTP/1.1\nHost: h\n\n", 400},
        Bad{"space_colon", "GET / HTTP/1.1\r\nHost: h\r\nX : a\r\n\r\n", 400},
        Bad{"two_hosts", "GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n", 400},
        Bad{"no_host", "GET / HTTP/1.1\r\n\r\n", 400},
        Bad{"absolute", "GET http://x/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Bad{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 400}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(HttpParser, HeaderLimit) {
  std::string wire = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(70000, 'a') + "\r\n\r\n";
  Parsed p = parse(wire, 4096);
  ASSERT_EQ(p.last, ParseStatus::kError);
  EXPECT_EQ(p.err.status, 431);
}

TEST(HttpParser, ResponseCloseDelimitedAndHead) {
  ResponseParser rp(false);
  std::string body;
  size_t consumed = 0;
  std::string wire = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc";
  ASSERT_EQ(rp.feed(wire, consumed, body), ParseStatus::kHeader);
  EXPECT_TRUE(rp.head().framing.until_close);
  wire.erase(0, consumed);
  rp.feed(wire, consumed, body);
  EXPECT_EQ(body, "abc");
  EXPECT_EQ(rp.feed_eof(), ParseStatus::kDone);

  ResponseParser head(true);
  std::string w2 = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
  ASSERT_EQ(head.feed(w2, consumed, body), ParseStatus::kHeader);
  EXPECT_FALSE(head.head().framing.has_body());
}

TEST(HttpHeaders, HopByHopAndIdentity) {
  Fields f;
  f.add("Connection", "close, X-Secret");
  f.add("X-Secret", "1");
  f.add("Keep-Alive", "timeout=5");
  f.add("TE", "trailers");
  f.add("Upgrade", "h2c");
  f.add("X-Forwarded-User", "admin");
  f.add("x-auth-request-email", "a@b");
  f.add("X-Phigate-Anything", "1");
  f.add("Accept", "*/*");
  strip_hop_by_hop(f);
  strip_identity_fields(f);
  ASSERT_EQ(f.list.size(), 1u);
  EXPECT_EQ(f.list[0].name, "Accept");
}

TEST(HttpHeaders, PathOverrideFields) {
  for (const char* n : {"X-Original-URL", "x-rewrite-url", "X-Forwarded-Uri", "X-Forwarded-Prefix",
                        "X-Envoy-Original-Path", "X-Override-URL"}) {
    EXPECT_TRUE(is_path_override_field(n)) << n;
  }
  for (const char* n : {"X-Original", "Referer", "Location", "X-URL", "Content-Location"}) {
    EXPECT_FALSE(is_path_override_field(n)) << n;
  }
}

TEST(HttpHeaders, BearerToken) {
  Fields f;
  std::string tok;
  bool present = false;
  EXPECT_FALSE(bearer_token(f, tok, present));
  EXPECT_FALSE(present);
  f.add("Authorization", "bearer abc.DEF-_~+/=");
  EXPECT_TRUE(bearer_token(f, tok, present));
  EXPECT_EQ(tok, "abc.DEF-_~+/=");
  f.add("Authorization", "Bearer other");
  EXPECT_FALSE(bearer_token(f, tok, present));  // two of them: ambiguous
  Fields g;
  g.add("Authorization", "Basic dXNlcjpw");
  EXPECT_FALSE(bearer_token(g, tok, present));
  EXPECT_TRUE(present);
}

TEST(HttpHeaders, AuditQueryRedactsSecrets) {
  auto q = audit_query("a=1&access_token=xyz&API_KEY=k&acc%65ss_token=z&my_secret_thing=s&b");
  std::vector<std::string> want = {"a=1",
                                   "access_token=[REDACTED]",
                                   "API_KEY=[REDACTED]",
                                   "acc%65ss_token=[REDACTED]",
                                   "my_secret_thing=[REDACTED]",
                                   "b"};
  EXPECT_EQ(q, want);
}

TEST(HttpTarget, Normalisation) {
  Target t;
  std::string why;
  ASSERT_TRUE(normalize_target("/a/./b/../c//d?x=%41", t, why));
  EXPECT_EQ(t.path, "/a/c/d");
  EXPECT_EQ(t.query, "x=%41");
  ASSERT_TRUE(normalize_target("/%61dmin/%2e%2e/%7euser/x%20y", t, why));
  EXPECT_EQ(t.path, "/~user/x%20y");
  EXPECT_EQ(t.decoded, "/~user/x y");
  ASSERT_TRUE(normalize_target("/../../etc", t, why));
  EXPECT_EQ(t.path, "/etc");
  ASSERT_TRUE(normalize_target("/a/b/", t, why));
  EXPECT_EQ(t.path, "/a/b/");
  for (const char* bad : {"/a%2Fb", "/a%5cb", "/a%00", "/a%252e", "/a\\b", "/a%zz", "/a#f", "x"}) {
    EXPECT_FALSE(normalize_target(bad, t, why)) << bad;
  }
  auto q = parse_query("a=1&b=x+y%21&a=2&flag");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[1].second, "x y!");
  EXPECT_EQ(q[3].first, "flag");
}

// Path parameters: kept as forwarded, but a dot segment carrying them is refused (a servlet
// container cuts ";x" first and climbs), and strip_path_params gives what such a container routes.
TEST(HttpTarget, DotSegmentsWithParametersAreRefused) {
  Target t;
  std::string why;
  for (const char* bad : {"/v1/..;/admin", "/v1/..;x=1/admin", "/v1/.;/a", "/..;", "/v1/%2e%2e;/a",
                          "/v1/..%3Bx/admin", "/v1/..%3bx/admin", "/v1/.%2e;/a", "/x/..;y.txt"}) {
    EXPECT_FALSE(normalize_target(bad, t, why)) << bad;
    EXPECT_NE(why.find("dot-segment with parameters"), std::string::npos) << bad << ": " << why;
  }
  ASSERT_TRUE(normalize_target("/a;v=1/b;x/c..;y", t, why)) << why;
  EXPECT_EQ(t.path, "/a;v=1/b;x/c..;y");
  ASSERT_TRUE(normalize_target("/a;v=1/../b", t, why)) << why;
  EXPECT_EQ(t.path, "/b");
}

TEST(HttpTarget, StripPathParams) {
  EXPECT_EQ(strip_path_params("/a;v=1/b;x"), "/a/b");
  EXPECT_EQ(strip_path_params("/admin;jsessionid=1/users"), "/admin/users");
  EXPECT_EQ(strip_path_params("/;x/b"), "/b");
  EXPECT_EQ(strip_path_params("/a;x/"), "/a/");
  EXPECT_EQ(strip_path_params("/;x"), "/");
  EXPECT_EQ(strip_path_params("/"), "/");
  EXPECT_EQ(strip_path_params("/plain/path"), "/plain/path");
}

// The proxy decodes the path below a resource prefix on its own: that must be the matching part
// of the whole path decoded (decoding never joins bytes across a '/').
TEST(HttpTarget, DecodedPartIsPartOfDecodedPath) {
  Target t;
  std::string why;
  ASSERT_TRUE(normalize_target("/labs/v1/%72esults/x%20y%3Az", t, why));
  EXPECT_EQ(decode_path("/v1/%72esults/x%20y%3Az"), "/v1/results/x y:z");
  const std::string rest = t.path.substr(std::string("/labs").size());
  EXPECT_EQ("/labs" + decode_path(rest), t.decoded);
}

TEST(HttpEncode, JsonResponseAndChunks) {
  std::string r = json_response(403, "forbidden", "no \"way\"\n", false);
  EXPECT_NE(r.find("HTTP/1.1 403 Forbidden\r\n"), std::string::npos);
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(r.find("{\"error\":\"forbidden\",\"message\":\"no \\\"way\\\"\\n\"}"),
            std::string::npos);
  std::string c;
  append_chunk("hello", c);
  append_chunk("", c);
  append_last_chunk(c);
  EXPECT_EQ(c, "5\r\nhello\r\n0\r\n\r\n");
}

}  // namespace
}  // namespace phigate::http
