#pragma once
// What leaves phigate when the audit log is exported (`phigate audit export`, the exporters).
//
// jsonl: one line per record, exactly the stored line (audit::to_json_line), so anyone can
// recompute
//   the chain and the Merkle leaves from an export (canonical.h, merkle.h); signed checkpoints are
//   interleaved as their own record type, right after the record that completes their tree:
//     {"key_id":..,"node_id":..,"root_hex":..,"signature_b64":..,"time_ns":..,"tree_size":..,
//      "type":"checkpoint"}
//   (keys sorted; a record line always starts with {"act_sub": so the two never mix up).
//
// ocsf: one OCSF 1.1-shaped JSON object per record (https://schema.ocsf.io), for SIEMs that
//   normalise on OCSF. Mapping (class_uid / activity_id):
//     session_start          -> 3002 Authentication / 1 Logon  (status Success)
//     auth_failure           -> 3002 Authentication / 1 Logon  (status Failure)
//     session_end            -> 3002 Authentication / 2 Logoff
//     statement, result      -> 6005 Datastore Activity, activity by statement_kind:
//                               select 4 Query, insert 5 Write, update 2 Update, delete 7 Delete,
//                               ddl/create 6 Create, copy 1 Read, anything else 99 Other
//     cancel, protocol_error -> 6005 Datastore Activity / 99 Other
//     checkpoint             -> 0 Base Event / 99 Other, checkpoint fields under unmapped
//   A denied statement has status Failure and severity Medium (3); everything else Informational
//   (1). type_uid = class_uid * 100 + activity_id. The original record line is kept verbatim in
//   raw_data, so the chain can still be checked from an OCSF stream; phigate-specific fields
//   (decision, rule, task/workflow/act chain, masked counts, seq, hash) are under unmapped.
#include <optional>
#include <string>
#include <string_view>

#include "audit/checkpoint.h"

namespace phigate::audit {

enum class ExportFormat { kJsonl, kOcsf };
// "jsonl" | "ocsf"; nullopt otherwise.
std::optional<ExportFormat> parse_export_format(std::string_view name);

std::string checkpoint_export_line(const Checkpoint& c);
// nullopt unless `line` is a checkpoint line as written above.
std::optional<Checkpoint> parse_checkpoint_export_line(std::string_view line);
// True if the line starts like a record line (cheap; the verifier checks the rest).
bool looks_like_record_line(std::string_view line);

// One exported line (no '\n') for a stored record line / a checkpoint. A stored line that does
// not parse (tampered store) is exported as is in jsonl; ocsf wraps it in a Base Event with
// status Failure and the line in raw_data, so an export never silently drops a record.
std::string export_record(std::string_view stored_line, ExportFormat f);
std::string export_checkpoint(const Checkpoint& c, ExportFormat f);

// Fields exporters put around a line (syslog MSGID, HEC time): cheap extraction from a stored line.
struct ExportMeta {
  uint64_t seq = 0;
  int64_t time_ns = 0;
  std::string type;  // record type, or "checkpoint"
};
ExportMeta record_meta(std::string_view stored_line);

}  // namespace phigate::audit
