#pragma once
// The receivers of audit exporters (exporter.h): a JSONL file with size-based rotation, syslog
// (RFC 5424 over UDP, or TCP with RFC 6587 octet counting) and an HTTP webhook in the shape of
// Splunk's HTTP Event Collector. All blocking, with timeouts, on the exporter's own thread.
#include <cstdint>
#include <memory>
#include <string>

#include "audit/exporter.h"

namespace phigate::audit {

// Appends one line per item, fdatasync'd before send() returns. When the file would grow past
// max_size it is renamed to path.1 (path.1 to path.2, ... up to path.<keep>; older ones deleted)
// and a new file started, so at most (keep + 1) files exist. A failed write is cut off again so
// the file only ever holds whole lines.
std::unique_ptr<Sink> make_jsonl_sink(std::string path, uint64_t max_size, uint64_t keep);

// address: udp://host:port or tcp://host:port. hostname: the HOSTNAME field (node_id).
// Each item is one RFC 5424 message: <PRI>1 TIMESTAMP HOSTNAME phigate PID MSGID - JSON, with
// facility 13 (log audit), severity 6 (informational; 4 for auth failures), MSGID the record type
// ("statement", "checkpoint", ...). TCP: "LEN SP MSG" frames (RFC 6587 §3.4.1); a send succeeds
// once the kernel took every byte; a connection the receiver closed is detected before reuse.
// UDP: one datagram per message, delivery unacknowledged by nature (loopback or a local relay
// only); a message over 64000 bytes is cut to fit and the cut logged.
std::unique_ptr<Sink> make_syslog_sink(std::string address, std::string hostname);

// url: http://host:port/path. One POST per batch holding one HEC event object per item,
// concatenated: {"time": <seconds.micros>, "host": ..., "source": "phigate", "sourcetype":
// "phigate:audit" | "phigate:ocsf", "event": <the item>}; header "Authorization: Splunk <token>"
// when a token is set. Any 2xx status acknowledges the batch; anything else (or a timeout) fails
// it.
std::unique_ptr<Sink> make_webhook_sink(std::string url, std::string token, std::string host,
                                        ExportFormat format);

}  // namespace phigate::audit
