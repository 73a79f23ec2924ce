#include "codec/http/parser.h"

#include <array>

#include "common/ascii.h"

#include <limits>
#include <utility>

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

const std::string* Fields::find(std::string_view name) const {
  for (const Field& f : list)
    if (iequals(f.name, name)) return &f.value;
  return nullptr;
}

size_t Fields::count(std::string_view name) const {
  size_t n = 0;
  for (const Field& f : list) n += iequals(f.name, name) ? 1 : 0;
  return n;
}

size_t Fields::erase(std::string_view name) {
  size_t before = list.size();
  std::erase_if(list, [&](const Field& f) { return iequals(f.name, name); });
  return before - list.size();
}

namespace {
// Bytes a head may hold as they are: VCHAR, SP, HTAB and obs-text (RFC 9110 §5.5). CR and LF are
// checked apart, everything else is refused. A table keeps the common case to one load per byte.
constexpr std::array<bool, 256> kPlainHeadByte = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = (c >= 0x20 && c != 0x7f) || c == '\t';
  return t;
}();
}  // namespace

ParseError check_raw_head(std::string_view head) {
  const auto* p = reinterpret_cast<const unsigned char*>(head.data());
  const size_t n = head.size();
  for (size_t i = 0; i < n; ++i) {
    if (kPlainHeadByte[p[i]]) continue;
    const unsigned char c = p[i];
    if (c == '\r') {
      if (i + 1 >= n || p[i + 1] != '\n') return {400, "bare_cr", "bare CR in head"};
      // RFC 9112 §5.2: a server MUST reject obs-fold in a request (or replace it; phigate
      // rejects, since two parsers could read the folded line differently).
      if (i + 2 < n && (p[i + 2] == ' ' || p[i + 2] == '\t')) {
        return {400, "obs_fold", "obsolete line folding (obs-fold) is not accepted"};
      }
      ++i;  // the LF
      continue;
    }
    if (c == '\n') return {400, "bare_lf", "bare LF in head"};
    return {400, "invalid_byte", "control character in head"};
  }
  return {};
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

template <bool isRequest, class Head>
class Core : public bhttp::basic_parser<isRequest> {
 public:
  Core(const Limits& limits) : limits_(limits) {
    this->header_limit(limits.header_bytes);
    // Bodies stream; per-role max_body is enforced by the caller. (Not boost::none: Beast 1.74
    // compares a Content-Length against an empty optional as "greater" and refuses every body.)
    this->body_limit(std::numeric_limits<std::uint64_t>::max());
    this->eager(false);
  }

  Head head;
  ParseError err;
  std::string* body_out = nullptr;
  uint64_t body_bytes = 0;
  bool head_request = false;

  void fail(error_code& ec, ParseError e) {
    err = std::move(e);
    ec = bhttp::error::bad_value;  // any error stops Beast; `err` carries the reason
  }

 private:
  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target,
                       int version, error_code& ec) override {
    if constexpr (isRequest) {
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
      head.status = code;
      head.reason.assign(reason.data(), reason.size());
      head.version = version;
      if (code < 100 || code > 599) return fail(ec, {502, "bad_status", "bad upstream status"});
    } else {
      (void)code, (void)reason, (void)version, (void)ec;
    }
  }

  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value,
                     error_code& ec) override {
    if (head.fields.list.size() >= limits_.max_fields) {
      return fail(ec, {431, "too_many_fields", "too many header fields"});
    }
    std::string_view n(name.data(), name.size());
    std::string_view v(value.data(), value.size());
    // RFC 9112 §6.3 rules 3–5: one framing, stated once. Beast already refuses CL+TE and
    // differing CL values; repeated identical ones and TE lists are refused here.
    if (iequals(n, "content-length")) {
      if (head.fields.count("content-length") > 0) {
        return fail(ec, {400, "duplicate_content_length", "repeated Content-Length"});
      }
      if (v.empty() || v.find_first_not_of("0123456789") != std::string_view::npos) {
        return fail(ec, {400, "bad_content_length", "Content-Length must be a decimal number"});
      }
    }
    if (iequals(n, "transfer-encoding")) {
      if (head.fields.count("transfer-encoding") > 0) {
        return fail(ec, {400, "duplicate_transfer_encoding", "repeated Transfer-Encoding"});
      }
      if (!iequals(trim_ows(v), "chunked")) {
        return fail(ec, {isRequest ? 501 : 502, "unsupported_transfer_encoding",
                         "only Transfer-Encoding: chunked is accepted"});
      }
    }
    head.fields.add(n, v);
  }

  void on_header_impl(error_code& ec) override {
    const Fields& f = head.fields;
    bool has_te = f.count("transfer-encoding") > 0;
    bool has_cl = f.count("content-length") > 0;
    if (has_te && has_cl) {
      return fail(ec, {400, "cl_and_te", "Content-Length and Transfer-Encoding together"});
    }
    if constexpr (isRequest) {
      // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request means faulty framing.
      if (has_te && head.version == 10) {
        return fail(ec, {400, "te_http10", "Transfer-Encoding in an HTTP/1.0 request"});
      }
      // RFC 9112 §3.2: exactly one Host in HTTP/1.1.
      size_t hosts = f.count("host");
      if (hosts > 1 || (hosts == 0 && head.version == 11)) {
        return fail(ec, {400, "host", "an HTTP/1.1 request needs exactly one Host"});
      }
    }
    Framing& fr = head.framing;
    fr.chunked = this->chunked();
    if (has_cl && this->content_length()) fr.content_length = *this->content_length();
    fr.keep_alive = this->keep_alive();
    if constexpr (!isRequest) {
      bool no_body =
          head_request || head.status / 100 == 1 || head.status == 204 || head.status == 304;
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
    body_out->append(body.data(), body.size());
    body_bytes += body.size();
    return body.size();
  }

  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    body_out->append(body.data(), body.size());
    body_bytes += body.size();
    return body.size();
  }

  void on_finish_impl(error_code&) override {}

 public:
  Limits limits_;
};

template <class C>
ParseStatus feed_core(C& core, std::string_view in, size_t& consumed, std::string& body,
                      bool request) {
  consumed = 0;
  if (core.is_done()) return ParseStatus::kDone;
  if (!core.is_header_done()) {
    size_t end = in.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (in.size() > core.limits_.header_bytes + 4) {
        core.err = {request ? 431 : 502, "header_too_large", "message head too large"};
        return ParseStatus::kError;
      }
      // A bare LF or other junk can be refused before the blank line arrives.
      ParseError early = check_raw_head(in.substr(0, in.size() > 0 ? in.size() - 1 : 0));
      if (!early.code.empty() && early.code != "bare_cr") {
        core.err = std::move(early);
        return ParseStatus::kError;
      }
      return ParseStatus::kNeedMore;
    }
    ParseError raw = check_raw_head(in.substr(0, end + 4));
    if (!raw.code.empty()) {
      if (!request) raw.status = 502;
      core.err = std::move(raw);
      return ParseStatus::kError;
    }
    error_code ec;
    core.body_out = &body;
    size_t n = core.put(boost::asio::const_buffer(in.data(), end + 4), ec);
    if (ec == bhttp::error::need_more) ec = {};
    if (ec || !core.is_header_done()) {
      if (core.err.code.empty())
        core.err = from_beast(ec ? ec : bhttp::error::bad_version, request);
      if (!request && core.err.status < 500) core.err.status = 502;
      return ParseStatus::kError;
    }
    consumed = n;
    core.eager(true);
    if (core.is_done()) return ParseStatus::kHeader;  // no body at all; next call says kDone
    return ParseStatus::kHeader;
  }
  error_code ec;
  core.body_out = &body;
  size_t before = body.size();
  size_t n = core.put(boost::asio::const_buffer(in.data(), in.size()), ec);
  consumed = n;
  if (ec == bhttp::error::need_more) {
    return body.size() > before ? ParseStatus::kBody : ParseStatus::kNeedMore;
  }
  if (ec) {
    if (core.err.code.empty()) core.err = from_beast(ec, request);
    if (!request && core.err.status < 500) core.err.status = 502;
    return ParseStatus::kError;
  }
  if (core.is_done()) return ParseStatus::kDone;
  return body.size() > before ? ParseStatus::kBody : ParseStatus::kNeedMore;
}

}  // namespace

struct RequestParser::Impl : Core<true, RequestHead> {
  using Core::Core;
};

RequestParser::RequestParser(Limits limits) : impl_(std::make_unique<Impl>(limits)) {}
RequestParser::~RequestParser() = default;

ParseStatus RequestParser::feed(std::string_view in, size_t& consumed, std::string& body) {
  return feed_core(*impl_, in, consumed, body, true);
}
const RequestHead& RequestParser::head() const { return impl_->head; }
RequestHead& RequestParser::head() { return impl_->head; }
const ParseError& RequestParser::error() const { return impl_->err; }
uint64_t RequestParser::body_bytes() const { return impl_->body_bytes; }

struct ResponseParser::Impl : Core<false, ResponseHead> {
  using Core::Core;
};

ResponseParser::ResponseParser(bool head_request, Limits limits)
    : impl_(std::make_unique<Impl>(limits)) {
  impl_->head_request = head_request;
  if (head_request) impl_->skip(true);
}
ResponseParser::~ResponseParser() = default;

ParseStatus ResponseParser::feed(std::string_view in, size_t& consumed, std::string& body) {
  return feed_core(*impl_, in, consumed, body, false);
}

ParseStatus ResponseParser::feed_eof() {
  error_code ec;
  if (!impl_->is_header_done()) {
    impl_->err = {502, "upstream_closed", "upstream closed the connection before a response"};
    return ParseStatus::kError;
  }
  impl_->put_eof(ec);
  if (ec) {
    impl_->err = {502, "upstream_truncated", "upstream closed the connection mid-body"};
    return ParseStatus::kError;
  }
  return ParseStatus::kDone;
}

const ResponseHead& ResponseParser::head() const { return impl_->head; }
const ParseError& ResponseParser::error() const { return impl_->err; }
uint64_t ResponseParser::body_bytes() const { return impl_->body_bytes; }

}  // namespace phigate::http
