#include "audit/proof.h"

#include <nlohmann/json.hpp>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "audit/record_view.h"

namespace phigate::audit {
namespace {

using nlohmann::json;

std::optional<Sha256> raw_hash(std::string_view hex) {
  Bytes b = from_hex(hex);
  if (b.size() != 32) return std::nullopt;
  Sha256 out;
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

}  // namespace

Result<std::string> make_inclusion_proof(Store& store, uint64_t seq,
                                         std::optional<uint64_t> checkpoint_size) {
  if (seq == 0) return make_error("not_found", "seq numbers start at 1");
  auto cps = store.checkpoints();
  if (!cps.ok()) return cps.error();
  const Checkpoint* cp = nullptr;
  for (const Checkpoint& c : *cps) {
    if (checkpoint_size ? c.tree_size == *checkpoint_size : c.tree_size >= seq) cp = &c;
  }
  if (!cp) {
    return make_error("not_found",
                      checkpoint_size
                          ? "no checkpoint with tree_size " + std::to_string(*checkpoint_size)
                          : "no signed checkpoint covers seq " + std::to_string(seq) +
                                " yet (checkpoints are signed every audit.checkpoint interval)");
  }
  if (seq > cp->tree_size) {
    return make_error("not_found", "checkpoint tree_size " + std::to_string(cp->tree_size) +
                                       " does not cover seq " + std::to_string(seq));
  }
  // Leaf i is the record with seq i+1 (the log starts at 1 and has no gaps, which verify checks).
  std::vector<Sha256> leaves;
  leaves.reserve(cp->tree_size);
  std::string leaf;
  std::optional<Error> bad;
  Status st = store.scan_lines(1, [&](uint64_t key, std::string_view line) {
    if (leaves.size() >= cp->tree_size) return false;
    if (key != leaves.size() + 1) {
      bad = make_error("tampered", "seq " + std::to_string(leaves.size() + 1) +
                                       " is missing from the store; run `phigate audit verify`");
      return false;
    }
    if (key == seq) leaf = std::string(line);
    leaves.push_back(merkle_leaf_hash(line));
    return true;
  });
  if (bad) return *bad;
  if (!st.ok()) return st.error();
  if (leaves.size() < cp->tree_size) {
    return make_error("tampered", "the store holds " + std::to_string(leaves.size()) +
                                      " records, fewer than checkpoint tree_size " +
                                      std::to_string(cp->tree_size));
  }
  auto get = [&](uint64_t i) { return leaves[i]; };
  if (to_hex(merkle_root(0, cp->tree_size, get)) != cp->root_hex) {
    return make_error("tampered",
                      "the stored records do not reproduce the root of checkpoint "
                      "tree_size " +
                          std::to_string(cp->tree_size) + "; run `phigate audit verify`");
  }
  auto path = merkle_inclusion_proof(seq - 1, cp->tree_size, get);
  if (!path.ok()) return path.error();
  json p = json::array();
  for (const Sha256& h : *path) p.push_back(to_hex(h));
  json doc = {{"format", kProofFormat},
              {"seq", seq},
              {"leaf_index", seq - 1},
              {"tree_size", cp->tree_size},
              {"leaf", leaf},
              {"leaf_hash", to_hex(leaves[seq - 1])},
              {"path", p},
              {"checkpoint", json::parse(checkpoint_to_json(*cp))}};
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<ProofReport> verify_inclusion_proof(std::string_view document, ByteSpan public_key) {
  auto invalid = [](const std::string& what) { return make_error("invalid", what); };
  auto bad = [](const std::string& what) { return make_error("bad_proof", what); };
  if (document.size() > (size_t(64) << 20)) return invalid("proof document too large");
  json j = json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return invalid("not a JSON object");
  auto fmt = j.find("format");
  if (fmt == j.end() || !fmt->is_string() || fmt->get<std::string>() != kProofFormat) {
    return invalid("not a " + std::string(kProofFormat) + " document");
  }
  auto uint_field = [&](const char* k, uint64_t& out) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_number_unsigned()) return false;
    out = it->get<uint64_t>();
    return true;
  };
  uint64_t seq = 0, index = 0, size = 0;
  if (!uint_field("seq", seq) || !uint_field("leaf_index", index) ||
      !uint_field("tree_size", size)) {
    return invalid("seq, leaf_index and tree_size must be non-negative integers");
  }
  auto leaf_it = j.find("leaf");
  auto path_it = j.find("path");
  auto cp_it = j.find("checkpoint");
  if (leaf_it == j.end() || !leaf_it->is_string() || path_it == j.end() || !path_it->is_array() ||
      cp_it == j.end() || !cp_it->is_object()) {
    return invalid("leaf (string), path (array) and checkpoint (object) are required");
  }
  auto cp = checkpoint_from_json(cp_it->dump(-1, ' ', false, json::error_handler_t::replace));
  if (!cp) return invalid("checkpoint is malformed");
  std::vector<Sha256> path;
  for (const auto& h : *path_it) {
    auto raw = h.is_string() ? raw_hash(h.get<std::string>()) : std::nullopt;
    if (!raw) return invalid("path entries must be 64 hex digits");
    path.push_back(*raw);
  }
  if (auto st = verify_checkpoint_signature(*cp, public_key); !st.ok()) {
    return bad("checkpoint: " + st.error().message);
  }
  if (cp->tree_size != size) return bad("tree_size differs from the signed checkpoint's");
  const std::string& leaf = leaf_it->get_ref<const std::string&>();
  RecordView v;
  if (!parse_record_view(leaf, v)) return bad("leaf is not a well-formed audit record");
  if (v.seq != seq)
    return bad("leaf holds seq " + std::to_string(v.seq) + ", not " + std::to_string(seq));
  if (index != seq - 1) return bad("leaf_index is not seq - 1");
  uint8_t d[32];
  record_chain_digest(leaf, v, d);
  if (!digest_equals_hex(d, v.hash)) return bad("leaf record was edited (its hash does not match)");
  Sha256 lh = merkle_leaf_hash(leaf);
  auto given = j.find("leaf_hash");
  if (given != j.end() && (!given->is_string() || given->get<std::string>() != to_hex(lh))) {
    return bad("leaf_hash does not match the leaf");
  }
  auto root = raw_hash(cp->root_hex);
  if (!root) return invalid("checkpoint root_hex is malformed");
  if (!merkle_verify_inclusion(index, size, lh, path, *root)) {
    return bad("the path does not lead from the leaf to the signed root");
  }
  return ProofReport{seq, size, cp->time_ns, cp->key_id, cp->node_id};
}

}  // namespace phigate::audit
