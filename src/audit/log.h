#pragma once
// The audit sink. Appends from any thread go to one writer thread that assigns seq, chains hashes
// and commits batches (group commit). Nothing reads this to make a decision.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "audit/event.h"
#include "audit/store.h"

namespace phigate::audit {

class Log {
 public:
  using Done = std::function<void(Result<uint64_t>)>;  // seq of the record once durable, or error

  // max_queue bounds memory: when full, append blocks the caller briefly and then fails (never
  // drops a record silently).
  Log(std::unique_ptr<Store> store, std::string node_id, size_t max_queue = 65536);
  ~Log();  // drains and commits what is queued
  // Continues the chain from the store's last record. Must be called once before append.
  Status open();
  // `done` runs on the writer thread after the batch holding the record committed (or failed).
  void append(Event e, Done done);
  void append(Event e) { append(std::move(e), nullptr); }
  // Blocks until everything appended so far is committed.
  void flush();
  void close();
  uint64_t last_seq() const;

 private:
  void run();
  struct Item {
    Event event;
    Done done;
  };
  std::unique_ptr<Store> store_;
  std::string node_id_;
  size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_, drained_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool busy_ = false;
  uint64_t next_seq_ = 1;
  std::string prev_hash_;
  bool failed_ = false;  // a failed commit poisons the log: fail closed from then on
  std::thread writer_;
};

// Recomputes the chain over a store. Returns ok with the number of records, or an error whose
// message names the first bad seq ("seq N: hash mismatch", "seq N: gap", ...).
Result<uint64_t> verify_chain(Store& store);

}  // namespace phigate::audit
