// The feature-floor leg of bench/http (not part of the gateway): the reference relay plus the
// least work the HTTP issue's required features take per request, each done the cheapest way
// that still does it:
//   - the JSON response masked by phigate's own masker (same rules as the benchmarked resource),
//     Content-Length rewritten;
//   - two audit records per request (request + result, the size of phigate's), each hash-chained
//     (SHA-256 of prev hash + record) and hashed as a Merkle leaf, under one lock;
//   - the records stored in SQLite (the contract's embedded store, phigate's audit_events
//     schema) by a background thread in batched transactions.
// Left out on purpose, so that this is a lower bound rather than a second gateway: token
// verification, policy, header rewriting, HTTP parsing beyond the head's end and Content-Length,
// and making the request record durable before forwarding. If this leg is below nginx proxy_pass,
// no implementation of those features in this topology reaches it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace phigate::bench {

class FloorFeatures {
 public:
  virtual ~FloorFeatures() = default;
  // Creates the SQLite file at `db_path` and starts the ingest thread; nullptr (reason on stderr)
  // on failure.
  static std::unique_ptr<FloorFeatures> open(const std::string& db_path);
  // One exchange: `request` is the request message as relayed, `response` the whole upstream
  // response (head + Content-Length body). Appends what the client gets to `out`: the head with
  // its Content-Length recomputed and the masked body. False when the body does not mask.
  virtual bool exchange(std::string_view request, std::string_view response, std::string& out) = 0;
};

}  // namespace phigate::bench
