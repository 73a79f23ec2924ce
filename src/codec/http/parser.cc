#include "codec/http/parser.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "common/ascii.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

namespace phigate::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

namespace {
// Bytes a head may hold as they are: VCHAR, SP, HTAB and obs-text (RFC 9110 §5.5). CR and LF are
// checked apart, everything else is refused. A table keeps the common case to one load per byte.
constexpr std::array<bool, 256> kPlainHeadByte = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = (c >= 0x20 && c != 0x7f) || c == '\t';
  return t;
}();

// Index of the first byte at or after `i` that is not plain (below 0x20 or DEL), or `n`. Eight
// bytes per load: the has-less-than trick flags such bytes, and its lowest flag is exact (a
// borrow only spills into bytes above a flagged one), so the first one is found without a loop.
constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
inline size_t skip_plain(const unsigned char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  // 16 at a time where SSE2 is there (every x86-64): heads carry long tokens (a bearer JWT).
  const __m128i below = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f);
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i bad =
        _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, below), x), _mm_cmpeq_epi8(x, del));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(bad));
    if (mask != 0) return i + static_cast<size_t>(std::countr_zero(mask));
  }
#endif
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    const uint64_t del = w ^ (kOnes * 0x7f);
    const uint64_t flags = ((w - kOnes * 0x20) & ~w & kHighs) | ((del - kOnes) & ~del & kHighs);
    if (flags != 0) {
      if constexpr (std::endian::native == std::endian::little) {
        return i + static_cast<size_t>(std::countr_zero(flags)) / 8;
      } else {
        return i + static_cast<size_t>(std::countl_zero(flags)) / 8;
      }
    }
  }
  while (i < n && kPlainHeadByte[p[i]]) ++i;
  return i;
}

}  // namespace

// The end of the head and the byte checks in one pass: runs of plain bytes 8 at a time, CR, LF
// and anything else one by one. A CR needs the bytes after it (LF, then what tells obs-fold from
// the next line); without them the scan stops at the CR and resumes there, so the outcome never
// depends on how the bytes were split.
HeadScan scan_head(std::string_view in, size_t& pos, size_t limit) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = std::min(in.size(), limit);
  size_t i = pos <= n ? pos : 0;
  for (;;) {
    i = skip_plain(p, i, n);
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c == '\t') {  // plain, but flagged by skip_plain with the other bytes below 0x20
      ++i;
      continue;
    }
    if (c == '\r') {
      if (i + 1 >= n) break;
      if (p[i + 1] != '\n') return {HeadScan::kError, 0, {400, "bare_cr", "bare CR in head"}};
      // CRLF right after CRLF: the blank line that ends the head.
      if (i >= 2 && p[i - 2] == '\r' && p[i - 1] == '\n') return {HeadScan::kComplete, i + 2, {}};
      if (i + 2 >= n) break;
      // RFC 9112 §5.2: a server MUST reject obs-fold in a request (or replace it; phigate
      // rejects, since two parsers could read the folded line differently).
      if (p[i + 2] == ' ' || p[i + 2] == '\t') {
        return {HeadScan::kError,
                0,
                {400, "obs_fold", "obsolete line folding (obs-fold) is not accepted"}};
      }
      i += 2;
      continue;
    }
    if (c == '\n') return {HeadScan::kError, 0, {400, "bare_lf", "bare LF in head"}};
    return {HeadScan::kError, 0, {400, "invalid_byte", "control character in head"}};
  }
  pos = i;  // at a CR waiting for what follows it, or at the end of what arrived
  return {HeadScan::kNeedMore, 0, {}};
}

namespace {

ParseError from_beast(const error_code& ec, bool request) {
  if (ec == bhttp::error::header_limit) {
    return {request ? 431 : 502, "header_too_large", "message head too large"};
  }
  if (ec == bhttp::error::body_limit) return {413, "body_too_large", "body too large"};
  if (ec == bhttp::error::bad_chunk || ec == bhttp::error::bad_chunk_extension) {
    return {400, "bad_chunk", "malformed chunked body: " + ec.message()};
  }
  if (ec == bhttp::error::bad_content_length) {
    return {400, "bad_content_length", "invalid or conflicting Content-Length"};
  }
  if (ec == bhttp::error::bad_transfer_encoding) {
    return {400, "bad_transfer_encoding", "invalid or conflicting Transfer-Encoding"};
  }
  if (ec == bhttp::error::partial_message) {
    return {400, "partial_message", "connection closed in the middle of a message"};
  }
  return {400, "malformed", "malformed HTTP message: " + ec.message()};
}

// Head buffers a parser keeps between messages: typical heads fit, a rare huge one is given back.
constexpr size_t kKeepHeadBytes = 16 * 1024;

// What a parser keeps between messages: the head (its buffers reused), and per message the error,
// body progress and where the head scan stopped. Beast's parser cannot be reset, so Core is
// rebuilt in place for each message around the same State.
template <class Head>
struct State {
  explicit State(const Limits& l) : limits(l) {}
  Limits limits;
  Head head;
  ParseError err;
  std::string* body_out = nullptr;
  uint64_t body_bytes = 0;
  bool head_request = false;
  size_t scanned = 0;  // how far scan_head got in an incomplete head
  // Framing fields seen so far, counted as they arrive instead of searched for again.
  uint32_t content_lengths = 0, transfer_encodings = 0, hosts = 0;
  uint32_t fields_seen = 0;  // head and trailer fields, against Limits::max_fields

  void reset() {
    head.clear(kKeepHeadBytes);
    err = {};
    body_out = nullptr;
    body_bytes = 0;
    scanned = 0;
    content_lengths = transfer_encodings = hosts = fields_seen = 0;
  }
};

template <bool isRequest, class Head>
class Core : public bhttp::basic_parser<isRequest> {
 public:
  explicit Core(State<Head>& s) : s_(s) {
    this->header_limit(s.limits.header_bytes);
    // Bodies stream; per-role max_body is enforced by the caller. (Not boost::none: Beast 1.74
    // compares a Content-Length against an empty optional as "greater" and refuses every body.)
    this->body_limit(std::numeric_limits<std::uint64_t>::max());
    this->eager(false);
    if (s.head_request) this->skip(true);
  }

  void fail(error_code& ec, ParseError e) {
    s_.err = std::move(e);
    ec = bhttp::error::bad_value;  // any error stops Beast; `err` carries the reason
  }

 private:
  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target,
                       int version, error_code& ec) override {
    if constexpr (isRequest) {
      Head& head = s_.head;
      head.method.assign(method.data(), method.size());
      head.target.assign(target.data(), target.size());
      head.version = version;
      if (version != 10 && version != 11) {
        return fail(ec, {505, "version", "only HTTP/1.0 and HTTP/1.1 are supported"});
      }
      // RFC 9112 §3.2: origin-form only; absolute-form would make phigate an open forward proxy
      // and authority-form (CONNECT) a tunnel that policy cannot see into.
      if (head.target.empty() || head.target[0] != '/') {
        return fail(ec, {400, "target_form", "request-target must be origin-form (/path)"});
      }
    } else {
      (void)method, (void)target, (void)version, (void)ec;
    }
  }

  void on_response_impl(int code, beast::string_view reason, int version, error_code& ec) override {
    if constexpr (!isRequest) {
      Head& head = s_.head;
      head.status = code;
      head.reason.assign(reason.data(), reason.size());
      head.version = version;
      if (code < 100 || code > 599) return fail(ec, {502, "bad_status", "bad upstream status"});
    } else {
      (void)code, (void)reason, (void)version, (void)ec;
    }
  }

  // `name` and `value` are views into the head bytes the Fields holds (feed_core).
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value,
                     error_code& ec) override {
    Fields& fields = s_.head.fields;
    // Counted apart from the list: the head may have been moved out before the trailers come.
    if (s_.fields_seen++ >= s_.limits.max_fields) {
      return fail(ec, {431, "too_many_fields", "too many header fields"});
    }
    std::string_view n(name.data(), name.size());
    std::string_view v(value.data(), value.size());
    // RFC 9112 §6.3 rules 3–5: one framing, stated once. Beast already refuses CL+TE and
    // differing CL values; repeated identical ones and TE lists are refused here.
    if (iequals(n, "content-length")) {
      if (s_.content_lengths++ > 0) {
        return fail(ec, {400, "duplicate_content_length", "repeated Content-Length"});
      }
      if (v.empty() || v.find_first_not_of("0123456789") != std::string_view::npos) {
        return fail(ec, {400, "bad_content_length", "Content-Length must be a decimal number"});
      }
    } else if (iequals(n, "transfer-encoding")) {
      if (s_.transfer_encodings++ > 0) {
        return fail(ec, {400, "duplicate_transfer_encoding", "repeated Transfer-Encoding"});
      }
      if (!iequals(trim_ows(v), "chunked")) {
        return fail(ec, {isRequest ? 501 : 502, "unsupported_transfer_encoding",
                         "only Transfer-Encoding: chunked is accepted"});
      }
    } else if (iequals(n, "host")) {
      ++s_.hosts;
    }
    // Head fields are views into the held head; trailer fields (after a chunked body) are in the
    // caller's buffer, which moves on, so they are copied.
    if (this->is_header_done()) {
      fields.add(n, v);
    } else {
      fields.add_held(n, v);
    }
  }

  void on_header_impl(error_code& ec) override {
    Head& head = s_.head;
    const bool has_te = s_.transfer_encodings > 0;
    const bool has_cl = s_.content_lengths > 0;
    if (has_te && has_cl) {
      return fail(ec, {400, "cl_and_te", "Content-Length and Transfer-Encoding together"});
    }
    if constexpr (isRequest) {
      // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request means faulty framing.
      if (has_te && head.version == 10) {
        return fail(ec, {400, "te_http10", "Transfer-Encoding in an HTTP/1.0 request"});
      }
      // RFC 9112 §3.2: exactly one Host in HTTP/1.1.
      if (s_.hosts > 1 || (s_.hosts == 0 && head.version == 11)) {
        return fail(ec, {400, "host", "an HTTP/1.1 request needs exactly one Host"});
      }
    }
    Framing& fr = head.framing;
    fr.chunked = this->chunked();
    if (has_cl && this->content_length()) fr.content_length = *this->content_length();
    fr.keep_alive = this->keep_alive();
    if constexpr (!isRequest) {
      bool no_body =
          s_.head_request || head.status / 100 == 1 || head.status == 204 || head.status == 304;
      if (no_body) {
        fr.chunked = false;
        fr.content_length = 0;
      } else {
        fr.until_close = !fr.chunked && !has_cl;
        if (fr.until_close) fr.keep_alive = false;
      }
    } else {
      if (!fr.chunked && !has_cl) fr.content_length = 0;  // RFC 9112 §6.3 rule 7
    }
  }

  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}

  std::size_t on_body_impl(beast::string_view body, error_code&) override {
    s_.body_out->append(body.data(), body.size());
    s_.body_bytes += body.size();
    return body.size();
  }

  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    s_.body_out->append(body.data(), body.size());
    s_.body_bytes += body.size();
    return body.size();
  }

  void on_finish_impl(error_code&) override {}

  State<Head>& s_;
};

// A parser's State with its Beast core, rebuilt in place per message (no allocation).
template <bool isRequest, class Head>
struct Machine {
  explicit Machine(const Limits& limits) : st(limits) { core.emplace(st); }
  void reset() {
    core.reset();
    st.reset();
    core.emplace(st);
  }
  State<Head> st;
  std::optional<Core<isRequest, Head>> core;
};

template <bool isRequest, class Head>
ParseStatus feed_core(Machine<isRequest, Head>& m, std::string_view in, size_t& consumed,
                      std::string& body) {
  constexpr bool request = isRequest;
  auto& core = *m.core;
  State<Head>& st = m.st;
  consumed = 0;
  if (core.is_done()) return ParseStatus::kDone;
  if (!core.is_header_done()) {
    const size_t limit = size_t{st.limits.header_bytes} + 4;
    HeadScan scan = scan_head(in, st.scanned, limit);
    if (scan.result == HeadScan::kError) {
      if (!request) scan.err.status = 502;
      st.err = std::move(scan.err);
      return ParseStatus::kError;
    }
    if (scan.result == HeadScan::kNeedMore) {
      if (in.size() > limit) {
        st.err = {request ? 431 : 502, "header_too_large", "message head too large"};
        return ParseStatus::kError;
      }
      return ParseStatus::kNeedMore;
    }
    // One copy of the head, owned by its Fields: Beast's views (method, target, names, values)
    // point into it, so no field is copied again.
    std::string_view held = st.head.fields.hold(in.substr(0, scan.size));
    error_code ec;
    st.body_out = &body;
    size_t n = core.put(boost::asio::const_buffer(held.data(), held.size()), ec);
    if (ec == bhttp::error::need_more) ec = {};
    if (ec || !core.is_header_done()) {
      if (st.err.code.empty()) st.err = from_beast(ec ? ec : bhttp::error::bad_version, request);
      if (!request && st.err.status < 500) st.err.status = 502;
      return ParseStatus::kError;
    }
    consumed = n;
    core.eager(true);
    return ParseStatus::kHeader;  // with no body at all, the next call says kDone
  }
  error_code ec;
  st.body_out = &body;
  size_t before = body.size();
  size_t n = core.put(boost::asio::const_buffer(in.data(), in.size()), ec);
  consumed = n;
  if (ec == bhttp::error::need_more) {
    return body.size() > before ? ParseStatus::kBody : ParseStatus::kNeedMore;
  }
  if (ec) {
    if (st.err.code.empty()) st.err = from_beast(ec, request);
    if (!request && st.err.status < 500) st.err.status = 502;
    return ParseStatus::kError;
  }
  if (core.is_done()) return ParseStatus::kDone;
  return body.size() > before ? ParseStatus::kBody : ParseStatus::kNeedMore;
}

}  // namespace

struct RequestParser::Impl : Machine<true, RequestHead> {
  using Machine::Machine;
};

RequestParser::RequestParser(Limits limits) : impl_(std::make_unique<Impl>(limits)) {}
RequestParser::~RequestParser() = default;

void RequestParser::reset() { impl_->reset(); }
ParseStatus RequestParser::feed(std::string_view in, size_t& consumed, std::string& body) {
  return feed_core(*impl_, in, consumed, body);
}
const RequestHead& RequestParser::head() const { return impl_->st.head; }
RequestHead& RequestParser::head() { return impl_->st.head; }
const ParseError& RequestParser::error() const { return impl_->st.err; }
uint64_t RequestParser::body_bytes() const { return impl_->st.body_bytes; }

struct ResponseParser::Impl : Machine<false, ResponseHead> {
  using Machine::Machine;
};

ResponseParser::ResponseParser(bool head_request, Limits limits)
    : impl_(std::make_unique<Impl>(limits)) {
  reset(head_request);
}
ResponseParser::~ResponseParser() = default;

void ResponseParser::reset(bool head_request) {
  impl_->st.head_request = head_request;  // read by Core's constructor (Beast's skip)
  impl_->reset();
}

ParseStatus ResponseParser::feed(std::string_view in, size_t& consumed, std::string& body) {
  return feed_core(*impl_, in, consumed, body);
}

ParseStatus ResponseParser::feed_eof() {
  error_code ec;
  if (!impl_->core->is_header_done()) {
    impl_->st.err = {502, "upstream_closed", "upstream closed the connection before a response"};
    return ParseStatus::kError;
  }
  impl_->core->put_eof(ec);
  if (ec) {
    impl_->st.err = {502, "upstream_truncated", "upstream closed the connection mid-body"};
    return ParseStatus::kError;
  }
  return ParseStatus::kDone;
}

const ResponseHead& ResponseParser::head() const { return impl_->st.head; }
const ParseError& ResponseParser::error() const { return impl_->st.err; }
uint64_t ResponseParser::body_bytes() const { return impl_->st.body_bytes; }

}  // namespace phigate::http
