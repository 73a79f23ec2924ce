// `phigate sessions list` and `phigate replay SESSION_ID` (issue 6): read the audit store read-only
// (works while the gateway runs: the store merges its journal tail) and print per-session
// summaries or one session's SQL timeline with the captured rows.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit/session_review.h"
#include "cli/cli.h"
#include "cli/time_arg.h"
#include "common/clock.h"

namespace phigate::cli {
namespace {

using nlohmann::json;

std::string identity_chain(const std::string& sub, const std::string& task,
                           const std::string& workflow, const std::string& act) {
  std::string s = sub.empty() ? "-" : sub;
  if (!task.empty()) s += " task=" + task;
  if (!workflow.empty()) s += " workflow=" + workflow;
  if (!act.empty()) s += " act=" + act;
  return s;
}

std::string duration_text(int64_t ns) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(ns < 10'000'000 ? 2 : 1);
  o << static_cast<double>(ns) / 1e6 << " ms";
  return o.str();
}

json summary_json(const audit::SessionSummary& s) {
  json j{{"session_id", s.session_id},
         {"start", format_time(s.start_ns)},
         {"end", s.end_ns ? json(format_time(s.end_ns)) : json(nullptr)},
         {"sub", s.sub},
         {"issuer", s.issuer},
         {"task_id", s.task_id},
         {"workflow_id", s.workflow_id},
         {"act_sub", s.act_sub},
         {"roles", s.roles},
         {"client_addr", s.client_addr},
         {"client_user", s.client_user},
         {"resource", s.resource},
         {"protocol", s.protocol},
         {"client_tls", s.client_tls},
         {"upstream_tls", s.upstream_tls},
         {"statements", s.statements},
         {"allowed", s.allowed},
         {"denied", s.denied},
         {"held", s.held},
         {"errors", s.errors}};
  return j;
}

Result<audit::SessionFilter> make_filter(const SessionsListArgs& a) {
  audit::SessionFilter f;
  f.identity = a.identity;
  f.resource = a.resource;
  f.task_id = a.task;
  f.workflow_id = a.workflow;
  const int64_t now = now_ns();
  if (!a.since.empty()) {
    auto t = parse_time_arg(a.since, now);
    if (!t) return make_error("usage", "--since: " + t.error().message);
    f.since_ns = *t;
  }
  if (!a.until.empty()) {
    auto t = parse_time_arg(a.until, now);
    if (!t) return make_error("usage", "--until: " + t.error().message);
    f.until_ns = *t;
  }
  return f;
}

// Text width of a cell: values are shown on one line, long ones cut.
std::string cell_text(const json& v) {
  std::string s = v.is_null() ? "NULL" : v.is_string() ? v.get<std::string>() : v.dump();
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

void print_table(std::ostream& out, const json& blob, const std::string& indent) {
  if (!blob.is_object() || !blob.contains("results") || !blob["results"].is_array()) return;
  for (const auto& set : blob["results"]) {
    if (!set.is_object() || !set.contains("rows") || !set["rows"].is_array()) continue;
    std::vector<std::vector<std::string>> grid;
    std::vector<std::string> head;
    if (set.contains("columns") && set["columns"].is_array())
      for (const auto& c : set["columns"]) head.push_back(cell_text(c));
    size_t ncols = head.size();
    for (const auto& r : set["rows"]) {
      std::vector<std::string> row;
      if (r.is_array())
        for (const auto& v : r) row.push_back(cell_text(v));
      ncols = std::max(ncols, row.size());
      grid.push_back(std::move(row));
    }
    std::vector<size_t> w(ncols, 0);
    auto widen = [&](const std::vector<std::string>& row) {
      for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
    };
    widen(head);
    for (const auto& r : grid) widen(r);
    auto line = [&](const std::vector<std::string>& row) {
      out << indent << "|";
      for (size_t i = 0; i < ncols; ++i) {
        std::string v = i < row.size() ? row[i] : "";
        out << " " << v << std::string(w[i] - v.size(), ' ') << " |";
      }
      out << "\n";
    };
    if (!head.empty()) {
      line(head);
      out << indent << "|";
      for (size_t i = 0; i < ncols; ++i) out << std::string(w[i] + 2, '-') << "|";
      out << "\n";
    }
    for (const auto& r : grid) line(r);
  }
  if (blob.value("truncated", false)) out << indent << "(capture truncated by audit.capture)\n";
}

// An HTTP body capture (proxy/http_capture.h): each side's status, type, size and body text.
void print_http_capture(std::ostream& out, const json& blob, const std::string& indent) {
  for (const char* side : {"request", "response"}) {
    if (!blob.contains(side) || !blob[side].is_object()) continue;
    const json& s = blob[side];
    out << indent << side << " body";
    if (s.contains("status") && s["status"].is_number())
      out << " (status " << s["status"].dump() << ")";
    const std::string ct = s.value("content_type", std::string());
    out << " " << (ct.empty() ? "-" : ct) << ", " << s.value("bytes", uint64_t{0}) << " bytes"
        << (s.value("truncated", false) ? ", capture truncated by http.capture_bodies" : "")
        << ":\n";
    std::string body = s.value("body", std::string());
    std::string line;
    for (size_t i = 0; i <= body.size(); ++i) {
      if (i == body.size() || body[i] == '\n') {
        out << indent << "  " << line << "\n";
        line.clear();
      } else if (body[i] != '\r') {
        line += body[i];
      }
    }
  }
}

}  // namespace

int cmd_sessions_list(const std::string& config_path, const SessionsListArgs& args,
                      const Wiring& wiring, bool json_out) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  auto filter = make_filter(args);
  if (!filter) {
    std::cerr << filter.error().message << "\n";
    return 2;
  }
  auto store = wiring.open_store(*config, true);
  if (!store) {
    std::cerr << "cannot open the audit store: " << store.error().message << "\n";
    return 2;
  }
  // The store may answer from its session index instead of reading the whole log.
  auto listed = (*store)->sessions(*filter);
  if (!listed) {
    std::cerr << "cannot read the audit store: " << listed.error().message << "\n";
    return 1;
  }
  const std::vector<audit::SessionSummary>& sessions = *listed;
  if (json_out) {
    json arr = json::array();
    for (const auto& s : sessions) arr.push_back(summary_json(s));
    std::cout << arr.dump() << "\n";
    return 0;
  }
  for (const auto& s : sessions) {
    std::cout << s.session_id << "  " << format_time(s.start_ns) << " .. "
              << (s.end_ns ? format_time(s.end_ns) : std::string("open")) << "  "
              << identity_chain(s.sub, s.task_id, s.workflow_id, s.act_sub)
              << "  from=" << (s.client_addr.empty() ? "-" : s.client_addr)
              << "  resource=" << s.resource << "  statements=" << s.statements
              << " denied=" << s.denied;
    if (s.held) std::cout << " held=" << s.held;
    std::cout << "\n";
  }
  if (sessions.empty()) std::cerr << "no sessions match\n";
  return 0;
}

int cmd_replay(const std::string& config_path, const std::string& session_id, const Wiring& wiring,
               bool json_out) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  auto store = wiring.open_store(*config, true);
  if (!store) {
    std::cerr << "cannot open the audit store: " << store.error().message << "\n";
    return 2;
  }
  std::unique_ptr<audit::BlobStore> blobs;
  if (wiring.open_blobs) {
    auto b = wiring.open_blobs(*config, true);
    if (b) blobs = std::move(*b);
  }
  audit::Timeline tl(session_id);
  Status st = (*store)->scan_session(session_id, [&](const audit::Event& e) {
    tl.add(e);
    return true;
  });
  if (!st.ok()) {
    std::cerr << "cannot read the audit store: " << st.error().message << "\n";
    return 1;
  }
  const audit::Event* first = tl.first();
  if (!first) {
    std::cerr << "no audit records for session " << session_id << "\n";
    return 1;
  }
  // Captured rows, fetched once per entry; a missing or bad blob is reported, not fatal.
  auto captured = [&](const audit::TimelineEntry& t, std::string& problem) -> json {
    if (t.capture.empty()) return nullptr;
    if (!blobs) {
      problem = "capture " + t.capture + " not available (no blob store)";
      return nullptr;
    }
    auto b = blobs->get(t.capture);
    if (!b) {
      problem = "capture " + t.capture + ": " + b.error().message;
      return nullptr;
    }
    if (!b->has_value()) {
      problem = "capture " + t.capture + " not found (pruned?)";
      return nullptr;
    }
    json j = json::parse(**b, nullptr, false);
    if (j.is_discarded()) problem = "capture " + t.capture + " is not readable";
    return j.is_discarded() ? json(nullptr) : j;
  };
  int rc = 0;
  if (json_out) {
    json entries = json::array();
    for (const auto& t : tl.entries()) {
      std::string problem;
      json j{{"seq", t.seq},
             {"time", format_time(t.time_ns)},
             {"type", t.type},
             {"statement", t.statement},
             {"statement_kind", t.statement_kind},
             {"parameters", t.parameters},
             {"decision", t.decision},
             {"rule", t.rule},
             {"message", t.message}};
      if (t.has_result) {
        j["result"] = json{{"status", t.status}, {"error_code", t.error_code},
                           {"tag", t.tag},       {"rows", t.rows},
                           {"bytes", t.bytes},   {"duration_ms", t.duration_ns / 1e6},
                           {"masked", t.masked}, {"capture", t.capture}};
        j["captured"] = captured(t, problem);
        if (!problem.empty()) j["capture_problem"] = problem;
      }
      entries.push_back(std::move(j));
    }
    json out{{"session_id", session_id},
             {"sub", first->sub},
             {"task_id", first->task_id},
             {"workflow_id", first->workflow_id},
             {"act_sub", first->act_sub},
             {"client_addr", first->client_addr},
             {"resource", first->resource},
             {"client_tls", first->client_tls},
             {"upstream_tls", first->upstream_tls},
             {"timeline", std::move(entries)}};
    std::cout << out.dump() << "\n";
    return rc;
  }
  std::cout << "session " << session_id << ": "
            << identity_chain(first->sub, first->task_id, first->workflow_id, first->act_sub)
            << " from " << (first->client_addr.empty() ? "-" : first->client_addr) << " to "
            << first->resource;
  if (!first->client_tls.empty()) {
    std::cout << " (client " << first->client_tls << ", upstream " << first->upstream_tls << ")";
  }
  std::cout << "\n";
  const std::string pad(26, ' ');
  for (const auto& t : tl.entries()) {
    std::cout << format_time(t.time_ns) << "  ";
    const bool http = t.type == "http_request";
    if (t.type != "statement" && !http) {
      std::cout << "[" << t.type << "]" << (t.message.empty() ? "" : " " + t.message) << "\n";
      continue;
    }
    std::cout << "[" << t.decision << (t.rule.empty() ? "" : " " + t.rule) << "] " << t.statement
              << "\n";
    if (!t.parameters.empty()) {
      std::cout << pad << "parameters:";
      for (const auto& p : t.parameters) std::cout << " " << p;
      std::cout << "\n";
    }
    if (t.decision != "allow") {
      std::cout << pad << "-> " << (t.error_code.empty() ? "refused" : t.error_code)
                << (t.message.empty() ? "" : ": " + t.message) << "\n";
      continue;
    }
    if (!t.has_result) {
      std::cout << pad << "-> no result recorded\n";
      continue;
    }
    if (http) {
      // HTTP results: error_code is the status sent, rows the request body bytes.
      std::cout << pad << "-> " << t.status << " " << t.error_code
                << (t.tag.empty() ? "" : " (" + t.tag + ")") << ", request " << t.rows
                << " bytes, response " << t.bytes << " bytes, " << duration_text(t.duration_ns);
    } else {
      std::cout << pad << "-> " << t.status << (t.tag.empty() ? "" : " " + t.tag) << ", " << t.rows
                << " rows, " << t.bytes << " bytes, " << duration_text(t.duration_ns);
      if (!t.error_code.empty()) std::cout << ", error " << t.error_code;
    }
    if (!t.masked.empty()) {
      std::cout << ", masked";
      for (const auto& [k, v] : t.masked) std::cout << " " << k << "=" << v;
    }
    std::cout << "\n";
    std::string problem;
    json blob = captured(t, problem);
    if (!problem.empty()) std::cout << pad << "(" << problem << ")\n";
    if (!blob.is_null() && (blob.contains("request") || blob.contains("response"))) {
      print_http_capture(std::cout, blob, pad);
    } else if (!blob.is_null()) {
      print_table(std::cout, blob, pad);
    }
  }
  return rc;
}

}  // namespace phigate::cli
