// `phigate report hipaa --from T --to T [--html FILE] [--json]` (issue 6): what phigate enforced
// and logged in a period, arranged by the 45 CFR 164.312 technical safeguards, with the log's
// verification result and the signed checkpoint that covers the period.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "audit/hipaa_report.h"
#include "audit/log.h"
#include "cli/cli.h"
#include "cli/time_arg.h"
#include "common/clock.h"

namespace phigate::cli {
namespace {

using nlohmann::json;

struct Section {
  std::string id, title;
  std::vector<std::pair<std::string, std::string>> lines;  // label, value
};

std::string join_counts(const std::map<std::string, uint64_t>& m) {
  if (m.empty()) return "none";
  std::string s;
  for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k + ": " + std::to_string(v);
  return s;
}

std::string join_set(const std::set<std::string>& s) {
  if (s.empty()) return "none";
  std::string out;
  for (const auto& v : s) out += (out.empty() ? "" : ", ") + v;
  return out;
}

struct Evidence {
  audit::HipaaCounts c;
  bool intact = false;
  std::string verify_text;
  uint64_t verified_records = 0, verified_checkpoints = 0, pruned = 0;
  std::optional<audit::Checkpoint> covering;
  std::string covering_note;
  bool gateway_tls = false;
  std::vector<std::pair<std::string, std::string>> resource_tls;  // configured upstream_tls
};

std::vector<Section> sections(const Evidence& ev) {
  const auto& c = ev.c;
  auto n = [](uint64_t v) { return std::to_string(v); };
  std::vector<Section> out;
  out.push_back({"164.312(a)(1)",
                 "Access control",
                 {{"statements decided by policy", n(c.statements)},
                  {"allowed", n(c.allowed)},
                  {"denied", n(c.denied)},
                  {"held for approval", n(c.held)},
                  {"denials by rule", join_counts(c.denied_by_rule)},
                  {"sessions by resource", join_counts(c.resources)},
                  {"sessions by role", join_counts(c.roles)},
                  {"values masked in results", n(c.masked_total)},
                  {"masked by detector/rule", join_counts(c.masked)}}});
  out.push_back({"164.312(a)(2)(i)",
                 "Unique user identification",
                 {{"sessions", n(c.sessions)},
                  {"distinct identities", n(c.identities.size())},
                  {"identities", join_set(c.identities)},
                  {"sessions without an identity", n(c.sessions_without_identity)},
                  {"sessions by per-task identities", n(c.sessions_with_task)},
                  {"humans acted for (act.sub)", join_set(c.acting_humans)}}});
  out.push_back({"164.312(b)",
                 "Audit controls",
                 {{"audit records in the period", n(c.records)},
                  {"record seq range",
                   c.records ? n(c.first_seq) + ".." + n(c.last_seq) : std::string("none")},
                  {"statement results recorded", n(c.results)},
                  {"results with captured rows", n(c.captures)},
                  {"rows returned", n(c.rows_returned)},
                  {"result errors", n(c.result_errors)},
                  {"protocol violations", n(c.protocol_errors)},
                  {"retention prunes", n(c.prunes)}}});
  Section integ{"164.312(c)(1)", "Integrity", {}};
  integ.lines.push_back({"verification", ev.verify_text});
  if (ev.intact) {
    integ.lines.push_back({"records verified (whole log)", n(ev.verified_records)});
    integ.lines.push_back({"signed checkpoints verified", n(ev.verified_checkpoints)});
    if (ev.pruned) integ.lines.push_back({"records pruned by retention", n(ev.pruned)});
  }
  if (ev.covering) {
    integ.lines.push_back(
        {"checkpoint covering the period", "tree_size " + n(ev.covering->tree_size) + " signed " +
                                               format_time(ev.covering->time_ns) + " by key " +
                                               ev.covering->key_id});
    integ.lines.push_back({"checkpoint root", ev.covering->root_hex});
  } else {
    integ.lines.push_back({"checkpoint covering the period", ev.covering_note});
  }
  out.push_back(std::move(integ));
  out.push_back({"164.312(d)",
                 "Person or entity authentication",
                 {{"sessions authenticated by token", n(c.sessions)},
                  {"authentication failures", n(c.auth_failures_total)},
                  {"failures by reason", join_counts(c.auth_failures)},
                  {"upstream login failures", n(c.upstream_failures)}}});
  std::string configured;
  for (const auto& [name, mode] : ev.resource_tls)
    configured += (configured.empty() ? "" : ", ") + name + ": " + mode;
  out.push_back({"164.312(e)(1)",
                 "Transmission security",
                 {{"client sessions over TLS", n(c.client_tls)},
                  {"client sessions in plain text (loopback only)", n(c.client_plain)},
                  {"client sessions with transport not recorded", n(c.client_tls_unknown)},
                  {"upstream connections (mode:negotiated)", join_counts(c.upstream_tls)},
                  {"gateway TLS configured", ev.gateway_tls ? "yes" : "no"},
                  {"configured upstream_tls", configured.empty() ? "none" : configured}}});
  return out;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    switch (ch) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += ch;
    }
  }
  return o;
}

std::string render_html(const Evidence& ev, const std::vector<Section>& secs,
                        const std::string& node) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>phigate HIPAA technical safeguards report</title><style>"
      "body{font-family:sans-serif;margin:2em;max-width:60em}"
      "table{border-collapse:collapse;width:100%;margin-bottom:1.5em}"
      "td{border:1px solid #ccc;padding:.3em .6em;vertical-align:top}"
      "td:first-child{width:40%;color:#333}.ok{color:#070}.bad{color:#b00;font-weight:bold}"
      "code{word-break:break-all}</style></head><body>\n";
  h += "<h1>HIPAA technical safeguards (45 CFR 164.312)</h1>\n<p>Gateway <code>" +
       html_escape(node) + "</code>, period " + html_escape(format_time(ev.c.from_ns)) + " to " +
       html_escape(format_time(ev.c.to_ns)) + ". Audit log: <span class=\"" +
       (ev.intact ? "ok" : "bad") + "\">" + html_escape(ev.verify_text) + "</span></p>\n";
  for (const auto& s : secs) {
    h += "<h2>" + html_escape(s.id) + " " + html_escape(s.title) + "</h2>\n<table>\n";
    for (const auto& [k, v] : s.lines)
      h += "<tr><td>" + html_escape(k) + "</td><td>" + html_escape(v) + "</td></tr>\n";
    h += "</table>\n";
  }
  h += "<p>Generated " + html_escape(format_time(now_ns())) +
       " by <code>phigate report hipaa</code> from the audit store.</p>\n</body></html>\n";
  return h;
}

json counts_json(const audit::HipaaCounts& c) {
  return json{{"records", c.records},
              {"first_seq", c.first_seq},
              {"last_seq", c.last_seq},
              {"sessions", c.sessions},
              {"distinct_identities", c.identities.size()},
              {"identities", c.identities},
              {"acting_humans", c.acting_humans},
              {"sessions_with_task", c.sessions_with_task},
              {"sessions_without_identity", c.sessions_without_identity},
              {"roles", c.roles},
              {"resources", c.resources},
              {"statements", c.statements},
              {"allowed", c.allowed},
              {"denied", c.denied},
              {"held", c.held},
              {"denied_by_rule", c.denied_by_rule},
              {"results", c.results},
              {"result_errors", c.result_errors},
              {"rows_returned", c.rows_returned},
              {"captures", c.captures},
              {"masked", c.masked},
              {"masked_total", c.masked_total},
              {"auth_failures", c.auth_failures},
              {"auth_failures_total", c.auth_failures_total},
              {"upstream_failures", c.upstream_failures},
              {"protocol_errors", c.protocol_errors},
              {"client_tls", c.client_tls},
              {"client_plain", c.client_plain},
              {"client_tls_unknown", c.client_tls_unknown},
              {"upstream_tls", c.upstream_tls},
              {"prunes", c.prunes}};
}

}  // namespace

int cmd_report_hipaa(const std::string& config_path, const ReportArgs& args, const Wiring& wiring,
                     bool json_out) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  const int64_t now = now_ns();
  auto from = parse_time_arg(args.from, now);
  auto to = parse_time_arg(args.to, now);
  if (!from || !to) {
    std::cerr << (!from ? "--from: " + from.error().message : "--to: " + to.error().message)
              << "\n";
    return 2;
  }
  if (*from >= *to) {
    std::cerr << "--from must be before --to\n";
    return 2;
  }
  auto store = wiring.open_store(*config, true);
  if (!store) {
    std::cerr << "cannot open the audit store: " << store.error().message << "\n";
    return 2;
  }
  auto pub = load_audit_public_key(config->gateway.data_dir);
  if (!pub) {
    std::cerr << "cannot read the audit key: " << pub.error().message << "\n";
    return 2;
  }
  Evidence ev;
  audit::HipaaTally tally(*from, *to);
  Status st = (*store)->scan(0, [&](const audit::Event& e) {
    tally.add(e);
    return true;
  });
  if (!st.ok()) {
    std::cerr << "cannot read the audit store: " << st.error().message << "\n";
    return 1;
  }
  ev.c = tally.counts();
  // The whole log is verified, not only the period: a period's records are only evidence if the
  // chain through them and the checkpoints over them hold.
  auto v = audit::verify_log(**store, *pub);
  ev.intact = v.ok();
  if (v.ok()) {
    ev.verified_records = v->records;
    ev.verified_checkpoints = v->checkpoints;
    ev.pruned = v->pruned;
    ev.verify_text = "intact";
  } else {
    ev.verify_text = "NOT intact: " + v.error().message;
  }
  auto cps = (*store)->checkpoints();
  if (ev.c.records == 0) {
    ev.covering_note = "no records in the period";
  } else if (cps.ok()) {
    for (const auto& cp : *cps) {
      if (cp.tree_size >= ev.c.last_seq) {
        ev.covering = cp;
        break;
      }
    }
    if (!ev.covering) ev.covering_note = "none yet (the next checkpoint will cover it)";
  } else {
    ev.covering_note = "checkpoints unavailable: " + cps.error().message;
  }
  ev.gateway_tls = !config->gateway.tls_cert.empty();
  for (const auto& r : config->resources) {
    if (r.type == "postgres") ev.resource_tls.emplace_back(r.name, r.upstream_tls);
  }
  auto secs = sections(ev);
  if (!args.html.empty()) {
    std::ofstream out(args.html, std::ios::binary | std::ios::trunc);
    out << render_html(ev, secs, config->gateway.node_id);
    out.close();
    if (!out) {
      std::cerr << "cannot write " << args.html << "\n";
      return 1;
    }
  }
  if (json_out) {
    json j{{"report", "hipaa-164.312"},
           {"node_id", config->gateway.node_id},
           {"from", format_time(*from)},
           {"to", format_time(*to)},
           {"counts", counts_json(ev.c)},
           {"verification",
            {{"intact", ev.intact},
             {"result", ev.verify_text},
             {"records", ev.verified_records},
             {"checkpoints", ev.verified_checkpoints},
             {"pruned", ev.pruned}}}};
    if (ev.covering) {
      j["checkpoint"] = {{"tree_size", ev.covering->tree_size},
                         {"time", format_time(ev.covering->time_ns)},
                         {"root", ev.covering->root_hex},
                         {"key_id", ev.covering->key_id}};
    } else {
      j["checkpoint"] = nullptr;
      j["checkpoint_note"] = ev.covering_note;
    }
    json sj = json::array();
    for (const auto& s : secs) {
      json lines = json::object();
      for (const auto& [k, val] : s.lines) lines[k] = val;
      sj.push_back({{"id", s.id}, {"title", s.title}, {"findings", lines}});
    }
    j["safeguards"] = std::move(sj);
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "HIPAA technical safeguards (45 CFR 164.312), gateway " << config->gateway.node_id
              << "\nperiod " << format_time(*from) << " to " << format_time(*to) << "\n";
    for (const auto& s : secs) {
      std::cout << "\n" << s.id << " " << s.title << "\n";
      for (const auto& [k, val] : s.lines) std::cout << "  " << k << ": " << val << "\n";
    }
    if (!args.html.empty()) std::cout << "\nHTML report written to " << args.html << "\n";
  }
  // The report is produced either way; a log that does not verify is a failed audit control.
  return ev.intact ? 0 : 1;
}

}  // namespace phigate::cli
