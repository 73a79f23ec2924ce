// `phigate audit export | prove | verify-proof` (DESIGN.md §3): offline tools over the audit store.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit/export_format.h"
#include "audit/export_range.h"
#include "audit/proof.h"
#include "cli/cli.h"
#include "common/duration.h"

namespace phigate::cli {
namespace {

struct FileCloser {
  void operator()(FILE* f) const {
    if (f != stdout) std::fclose(f);
  }
};
using OutFile = std::unique_ptr<FILE, FileCloser>;

OutFile open_output(const std::string& path) {
  if (path.empty() || path == "-") return OutFile(stdout);
  return OutFile(std::fopen(path.c_str(), "wb"));
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --since: RFC 3339 UTC ("2025-01-31T12:00:00Z", seconds precision), unix seconds, or a duration
// ("1h": that long ago). nullopt for anything else.
std::optional<int64_t> parse_since(const std::string& s) {
  if (s.empty()) return std::nullopt;
  if (s.find_first_not_of("0123456789") == std::string::npos && s.size() <= 12) {
    return std::stoll(s) * 1000000000LL;
  }
  if (s.size() >= 19 && s[4] == '-' && s[10] == 'T') {
    std::tm tm{};
    std::istringstream in(s);
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
    if (in.fail()) return std::nullopt;
    std::string rest;
    std::getline(in, rest);
    if (rest != "Z" && rest != "+00:00" && !rest.empty()) return std::nullopt;
    return static_cast<int64_t>(timegm(&tm)) * 1000000000LL;
  }
  auto d = parse_duration(s);
  if (!d) return std::nullopt;
  return now_ns() - std::chrono::duration_cast<std::chrono::nanoseconds>(*d).count();
}

}  // namespace

int cmd_audit_export(const std::string& config_path, const AuditExportArgs& args,
                     const Wiring& wiring) {
  auto fmt = audit::parse_export_format(args.format);
  if (!fmt) {
    std::cerr << "unknown export format '" << args.format << "' (jsonl or ocsf)\n";
    return 2;
  }
  std::optional<int64_t> since;
  if (!args.since.empty()) {
    since = parse_since(args.since);
    if (!since) {
      std::cerr << "--since: expected RFC 3339 UTC time, unix seconds or a duration, got '"
                << args.since << "'\n";
      return 2;
    }
  }
  auto config = load_or_report(config_path);
  if (!config) return 2;
  auto store = wiring.open_store(*config, true);
  if (!store) {
    std::cerr << "cannot open the audit store: " << store.error().message << "\n";
    return 2;
  }
  auto cps = (*store)->checkpoints();
  if (!cps.ok() && cps.error().code != "unsupported") {
    std::cerr << "cannot read checkpoints: " << cps.error().message << "\n";
    return 1;
  }
  std::vector<audit::Checkpoint> checkpoints =
      cps.ok() ? std::move(*cps) : std::vector<audit::Checkpoint>{};
  OutFile out = open_output(args.output);
  if (!out) {
    std::cerr << "cannot write " << args.output << "\n";
    return 2;
  }
  uint64_t records = 0;
  std::string buf;
  Status st = audit::export_range(
      **store, checkpoints, since, *fmt,
      [&](const std::string& line) {
        buf += line;
        buf += '\n';
        if (buf.size() >= (size_t(1) << 20)) {
          std::fwrite(buf.data(), 1, buf.size(), out.get());
          buf.clear();
        }
      },
      &records);
  std::fwrite(buf.data(), 1, buf.size(), out.get());
  bool write_ok = std::fflush(out.get()) == 0 && !std::ferror(out.get());
  if (!st.ok()) {
    // Everything up to the problem was written; the export is still incomplete: say so.
    std::cerr << "export stopped: " << st.error().message << "\n";
    return 1;
  }
  if (!write_ok) {
    std::cerr << "write error on " << (args.output.empty() ? "stdout" : args.output) << "\n";
    return 1;
  }
  if (!args.output.empty()) {
    std::cerr << "exported " << records << " records to " << args.output << "\n";
  }
  return 0;
}

int cmd_audit_prove(const std::string& config_path, const AuditProveArgs& args,
                    const Wiring& wiring) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  auto store = wiring.open_store(*config, true);
  if (!store) {
    std::cerr << "cannot open the audit store: " << store.error().message << "\n";
    return 2;
  }
  auto proof = audit::make_inclusion_proof(**store, args.seq, args.checkpoint);
  if (!proof) {
    std::cerr << "cannot prove seq " << args.seq << ": " << proof.error().message << "\n";
    return 1;
  }
  OutFile out = open_output(args.output);
  if (!out) {
    std::cerr << "cannot write " << args.output << "\n";
    return 2;
  }
  std::fwrite(proof->data(), 1, proof->size(), out.get());
  return std::fflush(out.get()) == 0 ? 0 : 1;
}

int cmd_audit_verify_proof(const std::string& config_path, const std::string& file,
                           const std::string& pubkey, bool json) {
  std::string data_dir;
  if (pubkey.empty()) {
    auto config = load_or_report(config_path);
    if (!config) return 2;
    data_dir = config->gateway.data_dir;
  }
  auto pub = load_audit_public_key(pubkey, data_dir);
  if (!pub || pub->empty()) {
    std::cerr << "no audit public key: "
              << (pub ? "give --pubkey FILE (output of `phigate audit pubkey`)"
                      : pub.error().message)
              << "\n";
    return 2;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << file << "\n";
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = audit::verify_inclusion_proof(ss.str(), *pub);
  if (json) {
    nlohmann::json j = {{"valid", r.ok()}};
    if (r.ok()) {
      j["seq"] = r->seq;
      j["tree_size"] = r->tree_size;
      j["key_id"] = r->key_id;
    } else {
      j["error"] = r.error().message;
    }
    std::cout << j.dump() << "\n";
  } else if (r.ok()) {
    std::cout << "proof valid: seq " << r->seq << " is leaf " << r->seq - 1 << " of the tree of "
              << r->tree_size << " records signed by key " << r->key_id << " (node " << r->node_id
              << ")\n";
  } else {
    std::cout << "proof NOT valid: " << r.error().message << "\n";
  }
  return r.ok() ? 0 : 1;
}

}  // namespace phigate::cli
