// Every message type the codec handles, encoded then decoded, and streamed the ways a socket can
// deliver it: whole, split at every byte boundary, byte by byte, and coalesced with all the others.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"
#include "test_util.h"

namespace phigate::pg {
namespace {

using testing::Body;
using testing::concat;
using testing::raw_frame;
using testing::stream_in_chunks;
using testing::stream_with_cuts;

struct Case {
  std::string name;
  Bytes wire;
  char type;
  std::function<Status(ByteSpan)> parse;
  std::function<void(ByteSpan)> check;
  // Strict layouts refuse trailing bytes and every truncation of the body; a few messages end in
  // "the rest of the message" and so accept both.
  bool strict = true;
};

template <class T>
std::function<Status(ByteSpan)> as_status(Result<T> (*fn)(ByteSpan)) {
  return [fn](ByteSpan b) -> Status {
    auto r = fn(b);
    if (!r) return r.error();
    return ok_status();
  };
}

Bytes encoded(const std::function<void(Bytes&)>& enc) {
  Bytes out;
  enc(out);
  return out;
}

std::vector<Case> frontend_cases() {
  std::vector<Case> c;
  c.push_back({"Query", encoded([](Bytes& o) { encode_query(o, "SELECT 1"); }), 'Q',
               as_status(parse_query), [](ByteSpan b) {
                 auto q = parse_query(b);
                 ASSERT_TRUE(q);
                 EXPECT_EQ(q->sql, "SELECT 1");
               }});
  c.push_back({"ParseWithTypes", encoded([](Bytes& o) {
                 encode_parse(o, "s1", "SELECT $1, $2", {23, 25});
               }),
               'P', as_status(parse_parse), [](ByteSpan b) {
                 auto p = parse_parse(b);
                 ASSERT_TRUE(p);
                 EXPECT_EQ(p->name, "s1");
                 EXPECT_EQ(p->query, "SELECT $1, $2");
                 EXPECT_EQ(p->param_types, (std::vector<uint32_t>{23, 25}));
               }});
  c.push_back({"ParseUnnamed", encoded([](Bytes& o) { encode_parse(o, "", "SELECT 1"); }), 'P',
               as_status(parse_parse), [](ByteSpan b) {
                 auto p = parse_parse(b);
                 ASSERT_TRUE(p);
                 EXPECT_EQ(p->name, "");
                 EXPECT_TRUE(p->param_types.empty());
               }});
  c.push_back({"Bind", encoded([](Bytes& o) {
                 static const uint8_t kBin[] = {0, 0, 0, 42};
                 Bind b;
                 b.portal = "p1";
                 b.statement = "s1";
                 b.param_formats = {0, 1, 1};
                 b.params = {{false, as_bytes("abc")}, {true, {}}, {false, ByteSpan(kBin)}};
                 b.result_formats = {1, 0};
                 encode_bind(o, b);
               }),
               'B', as_status(parse_bind), [](ByteSpan b) {
                 auto p = parse_bind(b);
                 ASSERT_TRUE(p);
                 EXPECT_EQ(p->portal, "p1");
                 EXPECT_EQ(p->statement, "s1");
                 ASSERT_EQ(p->params.size(), 3u);
                 EXPECT_EQ(as_sv(p->params[0].value), "abc");
                 EXPECT_FALSE(p->params[0].is_null);
                 EXPECT_TRUE(p->params[1].is_null);
                 EXPECT_EQ(p->params[2].value.size(), 4u);
                 EXPECT_EQ(p->param_format(0), 0);
                 EXPECT_EQ(p->param_format(2), 1);
                 EXPECT_EQ(p->result_formats, (std::vector<int16_t>{1, 0}));
               }});
  c.push_back({"BindEmpty", encoded([](Bytes& o) { encode_bind(o, Bind{}); }), 'B',
               as_status(parse_bind), [](ByteSpan b) {
                 auto p = parse_bind(b);
                 ASSERT_TRUE(p);
                 EXPECT_TRUE(p->params.empty());
                 EXPECT_EQ(p->param_format(0), 0);
               }});
  c.push_back({"BindOneFormatForAll", encoded([](Bytes& o) {
                 Bind b;
                 b.param_formats = {1};
                 b.params = {{false, as_bytes("x")}, {false, as_bytes("")}};
                 encode_bind(o, b);
               }),
               'B', as_status(parse_bind), [](ByteSpan b) {
                 auto p = parse_bind(b);
                 ASSERT_TRUE(p);
                 EXPECT_EQ(p->param_format(1), 1);
                 EXPECT_FALSE(p->params[1].is_null);
                 EXPECT_TRUE(p->params[1].value.empty());
               }});
  c.push_back({"Execute", encoded([](Bytes& o) { encode_execute(o, "p1", 100); }), 'E',
               as_status(parse_execute), [](ByteSpan b) {
                 auto e = parse_execute(b);
                 ASSERT_TRUE(e);
                 EXPECT_EQ(e->portal, "p1");
                 EXPECT_EQ(e->max_rows, 100);
               }});
  c.push_back({"DescribeStatement", encoded([](Bytes& o) { encode_describe(o, 'S', "s1"); }), 'D',
               as_status(parse_describe), [](ByteSpan b) {
                 auto d = parse_describe(b);
                 ASSERT_TRUE(d);
                 EXPECT_EQ(d->target, 'S');
                 EXPECT_EQ(d->name, "s1");
               }});
  c.push_back({"DescribePortal", encoded([](Bytes& o) { encode_describe(o, 'P', ""); }), 'D',
               as_status(parse_describe), [](ByteSpan b) {
                 auto d = parse_describe(b);
                 ASSERT_TRUE(d);
                 EXPECT_EQ(d->target, 'P');
               }});
  c.push_back({"Close", encoded([](Bytes& o) { encode_close(o, 'P', "p9"); }), 'C',
               as_status(parse_close), [](ByteSpan b) {
                 auto d = parse_close(b);
                 ASSERT_TRUE(d);
                 EXPECT_EQ(d->target, 'P');
                 EXPECT_EQ(d->name, "p9");
               }});
  c.push_back({"FunctionCall", encoded([](Bytes& o) {
                 FunctionCall f;
                 f.function_oid = 1598;
                 f.arg_formats = {1};
                 f.args = {{false, as_bytes("\x01\x02")}, {true, {}}};
                 f.result_format = 1;
                 encode_function_call(o, f);
               }),
               'F', as_status(parse_function_call), [](ByteSpan b) {
                 auto f = parse_function_call(b);
                 ASSERT_TRUE(f);
                 EXPECT_EQ(f->function_oid, 1598u);
                 ASSERT_EQ(f->args.size(), 2u);
                 EXPECT_EQ(f->args[0].value.size(), 2u);
                 EXPECT_TRUE(f->args[1].is_null);
                 EXPECT_EQ(f->result_format, 1);
               }});
  c.push_back({"PasswordMessage", encoded([](Bytes& o) { encode_password(o, "tok.en"); }), 'p',
               as_status(parse_password), [](ByteSpan b) {
                 auto p = parse_password(b);
                 ASSERT_TRUE(p);
                 EXPECT_EQ(p->password, "tok.en");
               }});
  c.push_back({"SASLInitialResponse", encoded([](Bytes& o) {
                 encode_sasl_initial_response(o, "SCRAM-SHA-256", "n,,n=,r=abc");
               }),
               'p', as_status(parse_sasl_initial_response), [](ByteSpan b) {
                 auto s = parse_sasl_initial_response(b);
                 ASSERT_TRUE(s);
                 EXPECT_EQ(s->mechanism, "SCRAM-SHA-256");
                 EXPECT_TRUE(s->has_data);
                 EXPECT_EQ(as_sv(s->data), "n,,n=,r=abc");
               }});
  c.push_back({"SASLInitialResponseNoData",
               raw_frame('p', Body().cstr("SCRAM-SHA-256").i32(-1).bytes()), 'p',
               as_status(parse_sasl_initial_response), [](ByteSpan b) {
                 auto s = parse_sasl_initial_response(b);
                 ASSERT_TRUE(s);
                 EXPECT_FALSE(s->has_data);
               }});
  c.push_back({"SASLResponse", encoded([](Bytes& o) { encode_sasl_response(o, "c=biws,r=x,p=y"); }),
               'p', as_status(parse_sasl_response),
               [](ByteSpan b) {
                 auto s = parse_sasl_response(b);
                 ASSERT_TRUE(s);
                 EXPECT_EQ(as_sv(s->data), "c=biws,r=x,p=y");
               },
               false});
  c.push_back({"CopyFail", encoded([](Bytes& o) { encode_copy_fail(o, "aborted"); }), 'f',
               as_status(parse_copy_fail), [](ByteSpan b) {
                 auto f = parse_copy_fail(b);
                 ASSERT_TRUE(f);
                 EXPECT_EQ(f->message, "aborted");
               }});
  auto empty = [](ByteSpan b) { EXPECT_TRUE(parse_empty(b)); };
  c.push_back({"Sync", encoded([](Bytes& o) { encode_sync(o); }), 'S', parse_empty, empty});
  c.push_back({"Flush", encoded([](Bytes& o) { encode_flush(o); }), 'H', parse_empty, empty});
  c.push_back(
      {"Terminate", encoded([](Bytes& o) { encode_terminate(o); }), 'X', parse_empty, empty});
  return c;
}

std::vector<Case> backend_cases() {
  std::vector<Case> c;
  c.push_back({"ErrorResponse", encoded([](Bytes& o) {
                 encode_error(o, "FATAL", "28P01", "token expired", "exp in the past", "log in");
               }),
               'E', as_status(parse_error_fields), [](ByteSpan b) {
                 auto e = parse_error_fields(b);
                 ASSERT_TRUE(e);
                 EXPECT_EQ(e->severity(), "FATAL");
                 EXPECT_EQ(e->get('S'), "FATAL");
                 EXPECT_EQ(e->sqlstate(), "28P01");
                 EXPECT_EQ(e->message(), "token expired");
                 EXPECT_EQ(e->get('D'), "exp in the past");
                 EXPECT_EQ(e->get('H'), "log in");
               }});
  c.push_back({"NoticeResponse",
               encoded([](Bytes& o) { encode_notice(o, "WARNING", "01000", "masked 3 values"); }),
               'N', as_status(parse_error_fields), [](ByteSpan b) {
                 auto e = parse_error_fields(b);
                 ASSERT_TRUE(e);
                 EXPECT_EQ(e->message(), "masked 3 values");
                 EXPECT_EQ(e->get('D'), "");
               }});
  c.push_back({"ErrorFieldsReencoded", encoded([](Bytes& o) {
                 ErrorFields f;
                 f.fields = {{'S', "ERROR"}, {'C', "42P01"}, {'M', "no table"}, {'Z', "x"}};
                 encode_error_fields(o, 'E', f);
               }),
               'E', as_status(parse_error_fields), [](ByteSpan b) {
                 auto e = parse_error_fields(b);
                 ASSERT_TRUE(e);
                 ASSERT_EQ(e->fields.size(), 4u);
                 EXPECT_EQ(e->get('Z'), "x");  // unknown codes survive (§55.8)
               }});
  c.push_back({"AuthenticationOk", encoded([](Bytes& o) { encode_auth_ok(o); }), 'R',
               as_status(parse_authentication), [](ByteSpan b) {
                 auto a = parse_authentication(b);
                 ASSERT_TRUE(a);
                 EXPECT_EQ(a->code, 0);
               }});
  c.push_back({"AuthenticationCleartext",
               encoded([](Bytes& o) { encode_auth_cleartext_request(o); }), 'R',
               as_status(parse_authentication), [](ByteSpan b) {
                 auto a = parse_authentication(b);
                 ASSERT_TRUE(a);
                 EXPECT_EQ(a->code, 3);
               }});
  c.push_back({"AuthenticationMD5", encoded([](Bytes& o) {
                 static const uint8_t kSalt[] = {1, 2, 3, 4};
                 encode_authentication(o, Authentication{5, ByteSpan(kSalt)});
               }),
               'R', as_status(parse_authentication), [](ByteSpan b) {
                 auto a = parse_authentication(b);
                 ASSERT_TRUE(a);
                 EXPECT_EQ(a->code, 5);
                 EXPECT_EQ(a->data.size(), 4u);
                 EXPECT_EQ(a->data[3], 4);
               }});
  c.push_back(
      {"AuthenticationSASL", encoded([](Bytes& o) {
         encode_authentication(
             o, Authentication{
                    10, as_bytes(std::string_view("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0", 34))});
       }),
       'R', as_status(parse_authentication), [](ByteSpan b) {
         auto a = parse_authentication(b);
         ASSERT_TRUE(a);
         auto m = sasl_mechanisms(*a);
         ASSERT_TRUE(m);
         EXPECT_EQ(*m, (std::vector<std::string_view>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}));
       }});
  c.push_back({"AuthenticationSASLContinue", encoded([](Bytes& o) {
                 encode_authentication(o, Authentication{11, as_bytes("r=abc,s=c2FsdA==,i=4096")});
               }),
               'R', as_status(parse_authentication),
               [](ByteSpan b) {
                 auto a = parse_authentication(b);
                 ASSERT_TRUE(a);
                 EXPECT_EQ(a->code, 11);
                 EXPECT_EQ(as_sv(a->data), "r=abc,s=c2FsdA==,i=4096");
               },
               false});
  c.push_back({"AuthenticationSASLFinal", encoded([](Bytes& o) {
                 encode_authentication(o, Authentication{12, as_bytes("v=abc=")});
               }),
               'R', as_status(parse_authentication),
               [](ByteSpan b) {
                 auto a = parse_authentication(b);
                 ASSERT_TRUE(a);
                 EXPECT_EQ(a->code, 12);
                 EXPECT_EQ(as_sv(a->data), "v=abc=");
               },
               false});
  c.push_back({"BackendKeyData", encoded([](Bytes& o) { encode_backend_key_data(o, 4242, -7); }),
               'K', as_status(parse_backend_key_data), [](ByteSpan b) {
                 auto k = parse_backend_key_data(b);
                 ASSERT_TRUE(k);
                 EXPECT_EQ(k->pid, 4242);
                 EXPECT_EQ(k->key, -7);
               }});
  c.push_back({"ParameterStatus",
               encoded([](Bytes& o) { encode_parameter_status(o, "server_version", "16.2"); }), 'S',
               as_status(parse_parameter_status), [](ByteSpan b) {
                 auto p = parse_parameter_status(b);
                 ASSERT_TRUE(p);
                 EXPECT_EQ(p->name, "server_version");
                 EXPECT_EQ(p->value, "16.2");
               }});
  for (char st : {'I', 'T', 'E'}) {
    c.push_back({std::string("ReadyForQuery") + st,
                 encoded([st](Bytes& o) { encode_ready_for_query(o, st); }), 'Z',
                 as_status(parse_ready_for_query), [st](ByteSpan b) {
                   auto z = parse_ready_for_query(b);
                   ASSERT_TRUE(z);
                   EXPECT_EQ(z->status, st);
                 }});
  }
  c.push_back({"CommandComplete",
               encoded([](Bytes& o) { encode_command_complete(o, "INSERT 0 3"); }), 'C',
               as_status(parse_command_complete), [](ByteSpan b) {
                 auto cc = parse_command_complete(b);
                 ASSERT_TRUE(cc);
                 EXPECT_EQ(cc->tag, "INSERT 0 3");
                 EXPECT_EQ(command_rows(cc->tag), 3u);
               }});
  c.push_back({"EmptyQueryResponse", encoded([](Bytes& o) { encode_empty_query_response(o); }), 'I',
               parse_empty, [](ByteSpan b) { EXPECT_TRUE(parse_empty(b)); }});
  c.push_back({"RowDescription", encoded([](Bytes& o) {
                 RowDescription d;
                 d.fields = {{"id", 16384, 1, 23, 4, -1, 0}, {"ssn", 16384, 2, 25, -1, -1, 1}};
                 encode_row_description(o, d);
               }),
               'T', as_status(parse_row_description), [](ByteSpan b) {
                 auto d = parse_row_description(b);
                 ASSERT_TRUE(d);
                 ASSERT_EQ(d->fields.size(), 2u);
                 EXPECT_EQ(d->fields[1].name, "ssn");
                 EXPECT_EQ(d->fields[1].table_oid, 16384u);
                 EXPECT_EQ(d->fields[1].column, 2);
                 EXPECT_EQ(d->fields[1].type_oid, 25u);
                 EXPECT_EQ(d->fields[1].type_size, -1);
                 EXPECT_EQ(d->fields[1].type_mod, -1);
                 EXPECT_EQ(d->fields[1].format, 1);
               }});
  c.push_back({"DataRow", encoded([](Bytes& o) {
                 DataRow r;
                 r.columns = {{false, as_bytes("1")},
                              {true, {}},
                              {false, as_bytes("")},
                              {false, as_bytes("123-45-6789")}};
                 encode_data_row(o, r);
               }),
               'D', as_status(parse_data_row), [](ByteSpan b) {
                 auto r = parse_data_row(b);
                 ASSERT_TRUE(r);
                 ASSERT_EQ(r->columns.size(), 4u);
                 EXPECT_TRUE(r->columns[1].is_null);
                 EXPECT_FALSE(r->columns[2].is_null);
                 EXPECT_EQ(as_sv(r->columns[3].value), "123-45-6789");
               }});
  c.push_back(
      {"NegotiateProtocolVersion", encoded([](Bytes& o) {
         encode_negotiate_protocol_version(o, 0, {"_pq_.compression", "_pq_.x"});
       }),
       'v', as_status(parse_negotiate_protocol_version), [](ByteSpan b) {
         auto v = parse_negotiate_protocol_version(b);
         ASSERT_TRUE(v);
         EXPECT_EQ(v->newest_minor, 0u);
         EXPECT_EQ(v->unrecognized, (std::vector<std::string_view>{"_pq_.compression", "_pq_.x"}));
       }});
  for (char t : {'G', 'H', 'W'}) {
    c.push_back({std::string("CopyResponse") + t,
                 raw_frame(t, Body().u8(1).u16(2).i16(1).i16(0).bytes()), t,
                 as_status(parse_copy_response), [](ByteSpan b) {
                   auto r = parse_copy_response(b);
                   ASSERT_TRUE(r);
                   EXPECT_EQ(r->format, 1);
                   EXPECT_EQ(r->column_formats, (std::vector<int16_t>{1, 0}));
                 }});
  }
  c.push_back({"ParameterDescription", raw_frame('t', Body().u16(2).u32(23).u32(1043).bytes()), 't',
               as_status(parse_parameter_description), [](ByteSpan b) {
                 auto p = parse_parameter_description(b);
                 ASSERT_TRUE(p);
                 EXPECT_EQ(p->type_oids, (std::vector<uint32_t>{23, 1043}));
               }});
  c.push_back({"NotificationResponse",
               raw_frame('A', Body().i32(77).cstr("jobs").cstr("{\"id\":1}").bytes()), 'A',
               as_status(parse_notification_response), [](ByteSpan b) {
                 auto n = parse_notification_response(b);
                 ASSERT_TRUE(n);
                 EXPECT_EQ(n->pid, 77);
                 EXPECT_EQ(n->channel, "jobs");
                 EXPECT_EQ(n->payload, "{\"id\":1}");
               }});
  c.push_back({"FunctionCallResponse", raw_frame('V', Body().i32(2).str("ok").bytes()), 'V',
               as_status(parse_function_call_response), [](ByteSpan b) {
                 auto f = parse_function_call_response(b);
                 ASSERT_TRUE(f);
                 EXPECT_EQ(as_sv(f->result.value), "ok");
               }});
  c.push_back({"FunctionCallResponseNull", raw_frame('V', Body().i32(-1).bytes()), 'V',
               as_status(parse_function_call_response), [](ByteSpan b) {
                 auto f = parse_function_call_response(b);
                 ASSERT_TRUE(f);
                 EXPECT_TRUE(f->result.is_null);
               }});
  auto empty = [](ByteSpan b) { EXPECT_TRUE(parse_empty(b)); };
  for (char t : {'1', '2', '3', 'n', 's', 'c'}) {
    c.push_back({std::string("Empty_") + t, raw_frame(t, {}), t, parse_empty, empty});
  }
  return c;
}

std::vector<Case> all_cases() {
  auto c = frontend_cases();
  auto b = backend_cases();
  c.insert(c.end(), b.begin(), b.end());
  return c;
}

class MessageTest : public ::testing::TestWithParam<Case> {};

TEST_P(MessageTest, DecodesWhole) {
  const Case& c = GetParam();
  auto d = decode_frame(c.wire, kDefaultMaxFrontendLen);
  ASSERT_EQ(d.status, DecodeStatus::kMessage) << d.error.message;
  EXPECT_EQ(d.message.type, c.type);
  EXPECT_EQ(d.message.total, c.wire.size());
  auto st = c.parse(d.message.body);
  ASSERT_TRUE(st) << st.error().message;
  c.check(d.message.body);
}

TEST_P(MessageTest, EveryPrefixNeedsMore) {
  const Case& c = GetParam();
  for (size_t k = 0; k < c.wire.size(); ++k) {
    auto d = decode_frame(ByteSpan(c.wire).first(k), kDefaultMaxFrontendLen);
    EXPECT_EQ(d.status, DecodeStatus::kNeedMore) << "prefix " << k;
  }
}

TEST_P(MessageTest, SplitAtEveryBoundary) {
  const Case& c = GetParam();
  for (size_t k = 0; k <= c.wire.size(); ++k) {
    auto s = stream_with_cuts(c.wire, {k});
    ASSERT_FALSE(s.error) << s.error_message;
    ASSERT_EQ(s.frames.size(), 1u) << "split at " << k;
    EXPECT_EQ(s.frames[0].first, c.type);
    c.check(s.frames[0].second);
  }
}

TEST_P(MessageTest, ByteByByte) {
  const Case& c = GetParam();
  auto s = stream_in_chunks(c.wire, 1);
  ASSERT_FALSE(s.error);
  ASSERT_EQ(s.frames.size(), 1u);
  c.check(s.frames[0].second);
}

TEST_P(MessageTest, TrailingBytesAndTruncationRefusedUnlessFreeForm) {
  const Case& c = GetParam();
  auto d = decode_frame(c.wire, kDefaultMaxFrontendLen);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  Bytes body(d.message.body.begin(), d.message.body.end());
  Bytes longer = body;
  longer.push_back(0);
  auto st = c.parse(longer);
  if (!c.strict) {
    // The body ends in "the rest of the message": an extra byte is just more data.
    EXPECT_TRUE(st);
    return;
  }
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "protocol");
  for (size_t k = 0; k < body.size(); ++k) {
    auto t = c.parse(ByteSpan(body).first(k));
    ASSERT_FALSE(t) << "truncated to " << k << " bytes";
    EXPECT_EQ(t.error().code, "protocol");
    EXPECT_FALSE(t.error().message.empty());
  }
}

// Random single-byte corruptions of a valid body: the parser may accept or refuse, never crash (run
// under ASan/UBSan to make "never crash" mean "no out-of-bounds read").
TEST_P(MessageTest, CorruptedBodiesNeverCrash) {
  const Case& c = GetParam();
  auto d = decode_frame(c.wire, kDefaultMaxFrontendLen);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  Bytes body(d.message.body.begin(), d.message.body.end());
  if (body.empty()) return;
  std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(c.name)));
  for (int i = 0; i < 500; ++i) {
    Bytes m = body;
    m[rng() % m.size()] = static_cast<uint8_t>(rng());
    if (rng() % 4 == 0) m.resize(rng() % (m.size() + 1));
    auto st = c.parse(m);
    if (!st) {
      EXPECT_EQ(st.error().code, "protocol");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Pg, MessageTest, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

// Every message of one direction back to back in one buffer, delivered in assorted chunk sizes: the
// frames come out in order and intact, as in a pipelined extended-query batch.
void expect_coalesced(const std::vector<Case>& cases) {
  Bytes wire;
  for (auto& c : cases) wire.insert(wire.end(), c.wire.begin(), c.wire.end());
  for (size_t chunk : {wire.size(), size_t(1), size_t(2), size_t(3), size_t(7), size_t(64)}) {
    auto s = stream_in_chunks(wire, chunk);
    ASSERT_FALSE(s.error) << s.error_message;
    ASSERT_EQ(s.frames.size(), cases.size()) << "chunk " << chunk;
    for (size_t i = 0; i < cases.size(); ++i) {
      EXPECT_EQ(s.frames[i].first, cases[i].type) << cases[i].name;
      auto st = cases[i].parse(s.frames[i].second);
      EXPECT_TRUE(st) << cases[i].name;
      cases[i].check(s.frames[i].second);
    }
  }
}

TEST(Coalesced, AllFrontendMessagesInOneBuffer) { expect_coalesced(frontend_cases()); }
TEST(Coalesced, AllBackendMessagesInOneBuffer) { expect_coalesced(backend_cases()); }

TEST(Coalesced, RandomCutsOverEverything) {
  auto cases = all_cases();
  Bytes wire;
  for (auto& c : cases) wire.insert(wire.end(), c.wire.begin(), c.wire.end());
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> cuts;
    for (size_t at = 0; at < wire.size();) {
      at += 1 + rng() % 40;
      if (at < wire.size()) cuts.push_back(at);
    }
    auto s = stream_with_cuts(wire, cuts);
    ASSERT_FALSE(s.error);
    ASSERT_EQ(s.frames.size(), cases.size());
  }
}

}  // namespace
}  // namespace phigate::pg
