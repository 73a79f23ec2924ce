// Fuzz target for the PostgreSQL codec: the input is a connection's byte stream. It is read as a
// startup packet and then as typed frames, every body parser runs on every frame, and whatever
// parses is re-encoded and must reproduce its body byte for byte (so a parser that accepts what
// the encoder would write differently - a lost field, a miscounted length - is found, not only
// crashes). The tail of the input also drives the SCRAM client as a server's messages.
#include <cstdint>
#include <cstdlib>

#include "codec/pg/auth.h"
#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"

using namespace phigate;
using namespace phigate::pg;

namespace {

volatile size_t g_sink = 0;

// Reads every byte a view points at, so ASan reports a view that escapes its buffer.
void touch(std::string_view s) {
  size_t h = 0;
  for (char c : s) h = h * 31 + static_cast<uint8_t>(c);
  g_sink = g_sink + h;
}
void touch(ByteSpan s) { touch(as_sv(s)); }

// The encoder must reproduce a parsed body exactly; anything else is a codec bug.
void expect_reencodes(ByteSpan body, char type, const Bytes& wire) {
  auto d = decode_frame(wire, UINT32_MAX);
  if (d.status != DecodeStatus::kMessage || d.message.type != type ||
      d.message.total != wire.size() || d.message.body.size() != body.size() ||
      !std::equal(body.begin(), body.end(), d.message.body.begin())) {
    std::abort();
  }
}

void run_parsers(char type, ByteSpan body) {
  if (auto q = parse_query(body)) touch(q->sql);
  if (auto p = parse_parse(body)) {
    touch(p->name);
    touch(p->query);
    Bytes w;
    encode_parse(w, p->name, p->query, p->param_types);
    expect_reencodes(body, 'P', w);
  }
  if (auto b = parse_bind(body)) {
    for (size_t i = 0; i < b->params.size(); ++i) {
      touch(b->params[i].value);
      g_sink = g_sink + static_cast<size_t>(b->param_format(i));
    }
    Bytes w;
    encode_bind(w, *b);
    expect_reencodes(body, 'B', w);
  }
  if (auto e = parse_execute(body)) touch(e->portal);
  if (auto d = parse_describe(body)) touch(d->name);
  if (auto c = parse_close(body)) touch(c->name);
  if (auto f = parse_function_call(body)) {
    for (auto& a : f->args) touch(a.value);
    Bytes w;
    encode_function_call(w, *f);
    expect_reencodes(body, 'F', w);
  }
  if (auto p = parse_password(body)) touch(p->password);
  if (auto s = parse_sasl_initial_response(body)) touch(s->data);
  if (auto s = parse_sasl_response(body)) touch(s->data);
  if (auto c = parse_copy_fail(body)) touch(c->message);
  (void)parse_empty(body);
  if (auto a = parse_authentication(body)) {
    touch(a->data);
    if (auto m = sasl_mechanisms(*a)) {
      for (auto name : *m) touch(name);
    }
    Bytes w;
    encode_authentication(w, *a);
    expect_reencodes(body, 'R', w);
  }
  (void)parse_backend_key_data(body);
  if (auto p = parse_parameter_status(body)) touch(p->value);
  (void)parse_ready_for_query(body);
  if (auto c = parse_command_complete(body)) {
    touch(c->tag);
    if (auto n = command_rows(c->tag)) g_sink = g_sink + *n;
  }
  if (auto d = parse_row_description(body)) {
    for (auto& f : d->fields) touch(f.name);
    Bytes w;
    encode_row_description(w, *d);
    expect_reencodes(body, 'T', w);
  }
  if (auto r = parse_data_row(body)) {
    for (auto& c : r->columns) touch(c.value);
    Bytes w;
    encode_data_row(w, *r);
    expect_reencodes(body, 'D', w);
  }
  if (auto e = parse_error_fields(body)) {
    touch(e->message());
    Bytes w;
    encode_error_fields(w, type == 'N' ? 'N' : 'E', *e);
    expect_reencodes(body, type == 'N' ? 'N' : 'E', w);
  }
  if (auto c = parse_copy_response(body)) g_sink = g_sink + c->column_formats.size();
  if (auto p = parse_parameter_description(body)) g_sink = g_sink + p->type_oids.size();
  if (auto n = parse_notification_response(body)) touch(n->payload);
  if (auto v = parse_negotiate_protocol_version(body)) {
    for (auto name : v->unrecognized) touch(name);
  }
  if (auto f = parse_function_call_response(body)) touch(f->result.value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan buf(data, size);
  size_t consumed = 0;
  auto startup = decode_startup(buf, consumed);
  if (startup.status == DecodeStatus::kMessage) {
    if (consumed < 8 || consumed > buf.size()) std::abort();
    for (auto& [k, v] : startup.message.params) {
      touch(k);
      touch(v);
    }
  }
  size_t relaxed = 0;
  (void)decode_startup(buf, relaxed, StartupOptions{true});

  // Frames follow an accepted startup packet; otherwise the input is read as frames from the start
  // (a backend stream, or a frontend after startup).
  ByteSpan rest = startup.status == DecodeStatus::kMessage ? buf.subspan(consumed) : buf;
  for (int n = 0; n < 4096; ++n) {
    // A small cap so lengths in the input are as often rejected as accepted.
    auto d = decode_frame(rest, 1u << 16);
    if (d.status != DecodeStatus::kMessage) break;
    if (d.message.total != d.message.body.size() + 5 || d.message.total > rest.size()) std::abort();
    run_parsers(d.message.type, d.message.body);
    rest = rest.subspan(d.message.total);
  }

  // SCRAM as a rogue server would drive it: the input (up to its first NUL) as server-first, the
  // rest as server-final. Nonce "r" so inputs starting "r=r" reach the later checks; the iteration
  // cap keeps a valid-looking input from stalling the run.
  std::string_view text = as_sv(buf);
  size_t nul = text.find('\0');
  size_t iter = text.substr(0, nul).find(",i=");
  // More than four digits could mean up to a million PBKDF2 rounds per input: skip those.
  if (iter != std::string_view::npos && text.substr(0, nul).size() - (iter + 3) > 4) return 0;
  ScramClient scram("pw", "r");
  scram.client_first();
  auto fin = scram.client_final(text.substr(0, nul));
  if (fin && nul != std::string_view::npos) {
    (void)scram.verify_server_final(text.substr(nul + 1));
  }
  return 0;
}
