#include "audit/export_format.h"

#include <nlohmann/json.hpp>

#include "audit/canonical.h"
#include "audit/record_view.h"

namespace phigate::audit {
namespace {

using nlohmann::json;

constexpr const char* kOcsfVersion = "1.1.0";

struct OcsfClass {
  int class_uid;
  const char* class_name;
  int category_uid;
  const char* category_name;
  int activity_id;
  const char* activity_name;
};

OcsfClass datastore(int id, const char* name) {
  return {6005, "Datastore Activity", 6, "Application Activity", id, name};
}

OcsfClass classify(const Event& e) {
  if (e.type == "session_start" || e.type == "auth_failure") {
    return {3002, "Authentication", 3, "Identity & Access Management", 1, "Logon"};
  }
  if (e.type == "session_end") {
    return {3002, "Authentication", 3, "Identity & Access Management", 2, "Logoff"};
  }
  if (e.type == "statement" || e.type == "result") {
    // statement_kind lists every kind of a multi-statement query ("insert,select"): the first
    // decides the activity; the whole list stays in unmapped.
    std::string_view k = e.statement_kind;
    k = k.substr(0, k.find(','));
    if (k == "select") return datastore(4, "Query");
    if (k == "insert") return datastore(5, "Write");
    if (k == "update") return datastore(2, "Update");
    if (k == "delete") return datastore(7, "Delete");
    if (k == "ddl" || k == "create") return datastore(6, "Create");
    if (k == "copy") return datastore(1, "Read");
  }
  return datastore(99, "Other");
}

json base(const OcsfClass& c, int64_t time_ns) {
  return json{{"class_uid", c.class_uid},
              {"class_name", c.class_name},
              {"category_uid", c.category_uid},
              {"category_name", c.category_name},
              {"activity_id", c.activity_id},
              {"activity_name", c.activity_name},
              {"type_uid", c.class_uid * 100 + c.activity_id},
              {"time", time_ns / 1000000},
              {"metadata",
               {{"version", kOcsfVersion},
                {"product", {{"name", "phigate"}, {"vendor_name", "phigate"}}},
                {"log_name", "audit"}}}};
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string ocsf_record(std::string_view stored_line) {
  auto e = from_json_line(std::string(stored_line));
  if (!e) {
    json j = base({0, "Base Event", 0, "Uncategorized", 99, "Other"}, 0);
    j["status_id"] = 2;
    j["status"] = "Failure";
    j["severity_id"] = 4;
    j["message"] = "audit record does not parse (store tampered?)";
    j["raw_data"] = std::string(stored_line);
    return dump(j);
  }
  const OcsfClass c = classify(*e);
  json j = base(c, e->time_ns);
  const bool failed = e->decision == "deny" || e->decision == "error" ||
                      e->type == "auth_failure" || (!e->status.empty() && e->status != "ok");
  j["status_id"] = failed ? 2 : 1;
  j["status"] = failed ? "Failure" : "Success";
  j["severity_id"] = e->decision == "deny" || e->type == "auth_failure" ? 3 : 1;
  if (!e->message.empty()) j["message"] = e->message;
  j["metadata"]["uid"] = e->hash;
  j["metadata"]["sequence"] = e->seq;
  j["metadata"]["product"]["feature"] = {{"name", e->protocol}};
  json groups = json::array();
  for (const auto& g : e->groups) groups.push_back({{"name", g}});
  json user = {{"name", e->sub}, {"uid", e->sub}, {"groups", groups}};
  if (!e->issuer.empty()) user["domain"] = e->issuer;
  j["actor"] = {{"user", user}, {"session", {{"uid", e->session_id}}}};
  if (!e->client_addr.empty()) {
    std::string_view a = e->client_addr;
    size_t colon = a.rfind(':');
    json ep = {{"ip", std::string(a.substr(0, colon))}};
    if (colon != std::string_view::npos) {
      uint64_t port = 0;
      bool num = colon + 1 < a.size();
      for (char ch : a.substr(colon + 1)) {
        if (ch < '0' || ch > '9' || port > 65535) {
          num = false;
          break;
        }
        port = port * 10 + static_cast<uint64_t>(ch - '0');
      }
      if (num) ep["port"] = port;
    }
    j["src_endpoint"] = ep;
  }
  if (!e->resource.empty()) j["database"] = {{"name", e->resource}, {"type", e->protocol}};
  if (!e->action.empty()) j["query_info"] = {{"query_string", e->action}};
  if (e->type == "result") {
    j["query_info"]["num_results"] = e->rows;
    j["duration"] = e->duration_ns / 1000000;
  }
  j["unmapped"] = {{"type", e->type},
                   {"seq", e->seq},
                   {"hash", e->hash},
                   {"prev_hash", e->prev_hash},
                   {"node_id", e->node_id},
                   {"decision", e->decision},
                   {"rule", e->rule},
                   {"approver", e->approver},
                   {"task_id", e->task_id},
                   {"workflow_id", e->workflow_id},
                   {"act_sub", e->act_sub},
                   {"roles", e->roles},
                   {"client_user", e->client_user},
                   {"statement_kind", e->statement_kind},
                   {"parameters", e->parameters},
                   {"ref_seq", e->ref_seq},
                   {"result_status", e->status},
                   {"error_code", e->error_code},
                   {"bytes", e->bytes},
                   {"masked", e->masked}};
  j["raw_data"] = std::string(stored_line);
  return dump(j);
}

}  // namespace

std::optional<ExportFormat> parse_export_format(std::string_view name) {
  if (name == "jsonl") return ExportFormat::kJsonl;
  if (name == "ocsf") return ExportFormat::kOcsf;
  return std::nullopt;
}

std::string checkpoint_export_line(const Checkpoint& c) {
  json j = json::parse(checkpoint_to_json(c));
  j["type"] = "checkpoint";
  return dump(j);
}

std::optional<Checkpoint> parse_checkpoint_export_line(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto t = j.find("type");
  if (t == j.end() || !t->is_string() || t->get_ref<const std::string&>() != "checkpoint") {
    return std::nullopt;
  }
  j.erase("type");
  return checkpoint_from_json(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

bool looks_like_record_line(std::string_view line) { return line.starts_with("{\"act_sub\":"); }

std::string export_record(std::string_view stored_line, ExportFormat f) {
  if (f == ExportFormat::kJsonl) return std::string(stored_line);
  return ocsf_record(stored_line);
}

std::string export_checkpoint(const Checkpoint& c, ExportFormat f) {
  if (f == ExportFormat::kJsonl) return checkpoint_export_line(c);
  json j = base({0, "Base Event", 0, "Uncategorized", 99, "Other"}, c.time_ns);
  j["status_id"] = 1;
  j["status"] = "Success";
  j["severity_id"] = 1;
  j["message"] = "signed audit checkpoint: Merkle root of the first " +
                 std::to_string(c.tree_size) + " records";
  j["unmapped"] = {{"type", "checkpoint"},
                   {"node_id", c.node_id},
                   {"tree_size", c.tree_size},
                   {"root_hex", c.root_hex},
                   {"key_id", c.key_id},
                   {"time_ns", c.time_ns},
                   {"signature_b64", c.signature_b64}};
  j["raw_data"] = checkpoint_export_line(c);
  return dump(j);
}

ExportMeta record_meta(std::string_view stored_line) {
  RecordView v;
  ExportMeta m;
  if (!parse_record_view(stored_line, v)) {
    m.type = "unknown";
    return m;
  }
  m.seq = v.seq;
  m.time_ns = v.time_ns;
  m.type = std::string(v.type);
  return m;
}

}  // namespace phigate::audit
