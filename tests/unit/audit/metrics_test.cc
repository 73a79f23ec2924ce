#include "audit/metrics.h"

#include <gtest/gtest.h>

#include <future>

#include "audit/log.h"
#include "fake_store.h"

namespace phigate::audit {
namespace {

Event rec(const char* type, const char* protocol, const char* resource, const char* decision,
          const char* status = "", int64_t duration_ns = 0,
          std::map<std::string, uint64_t> masked = {}) {
  Event e;
  e.type = type;
  e.protocol = protocol;
  e.resource = resource;
  e.decision = decision;
  e.status = status;
  e.duration_ns = duration_ns;
  e.masked = std::move(masked);
  return e;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, CountsDecisionsResultsMaskingAndDurations) {
  Metrics m;
  m.observe(rec("session_start", "pg", "clinic", ""));
  m.observe(rec("statement", "pg", "clinic", "allow"));
  m.observe(rec("result", "pg", "clinic", "", "ok", 3'000'000, {{"US_SSN", 2}, {"EMAIL", 1}}));
  m.observe(rec("statement", "pg", "clinic", "deny"));
  m.observe(rec("statement", "pg", "clinic", "allow"));
  m.observe(rec("result", "pg", "clinic", "", "error", 20'000'000));
  m.observe(rec("http_request", "http", "labs", "allow"));
  m.observe(rec("http_result", "http", "labs", "", "ok", 400'000, {{"json:$.ssn", 4}}));
  std::string out;
  m.render(out);
  EXPECT_TRUE(has_line(out, "phigate_audit_events_total{type=\"statement\"} 3")) << out;
  EXPECT_TRUE(has_line(out, "phigate_audit_events_total{type=\"session_start\"} 1"));
  EXPECT_TRUE(has_line(
      out, "phigate_decisions_total{protocol=\"pg\",resource=\"clinic\",decision=\"allow\"} 2"));
  EXPECT_TRUE(has_line(
      out, "phigate_decisions_total{protocol=\"pg\",resource=\"clinic\",decision=\"deny\"} 1"));
  EXPECT_TRUE(has_line(
      out, "phigate_decisions_total{protocol=\"http\",resource=\"labs\",decision=\"allow\"} 1"));
  EXPECT_TRUE(has_line(
      out, "phigate_results_total{protocol=\"pg\",resource=\"clinic\",status=\"error\"} 1"));
  EXPECT_TRUE(has_line(out, "phigate_masked_values_total{protocol=\"pg\",resource=\"clinic\"} 3"));
  EXPECT_TRUE(has_line(out, "phigate_masked_values_total{protocol=\"http\",resource=\"labs\"} 4"));
  // 3 ms and 20 ms: cumulative buckets, +Inf = count, sum in seconds.
  EXPECT_TRUE(
      has_line(out, "phigate_result_duration_seconds_bucket{protocol=\"pg\",le=\"0.0025\"} 0"));
  EXPECT_TRUE(
      has_line(out, "phigate_result_duration_seconds_bucket{protocol=\"pg\",le=\"0.005\"} 1"));
  EXPECT_TRUE(
      has_line(out, "phigate_result_duration_seconds_bucket{protocol=\"pg\",le=\"0.025\"} 2"));
  EXPECT_TRUE(
      has_line(out, "phigate_result_duration_seconds_bucket{protocol=\"pg\",le=\"+Inf\"} 2"));
  EXPECT_TRUE(has_line(out, "phigate_result_duration_seconds_sum{protocol=\"pg\"} 0.023"));
  EXPECT_TRUE(has_line(out, "phigate_result_duration_seconds_count{protocol=\"http\"} 1"));
  EXPECT_TRUE(has_line(out, "# TYPE phigate_result_duration_seconds histogram"));
}

TEST(Metrics, LabelSetsAreCappedAndEscaped) {
  Metrics m;
  for (size_t i = 0; i < Metrics::kMaxSeries + 50; ++i) {
    m.observe(rec("statement", "pg", ("r" + std::to_string(i)).c_str(), "allow"));
  }
  m.observe(rec("statement", "pg", "r0", "allow"));  // an existing series keeps counting
  m.observe(rec("statement", "pg", "we\"ird\\\n", "deny"));
  std::string out;
  m.render(out);
  EXPECT_TRUE(has_line(
      out, "phigate_decisions_total{protocol=\"pg\",resource=\"r0\",decision=\"allow\"} 2"));
  EXPECT_TRUE(has_line(
      out, "phigate_decisions_total{protocol=\"pg\",resource=\"_other\",decision=\"allow\"} 50"));
  EXPECT_TRUE(has_line(
      out, "phigate_decisions_total{protocol=\"pg\",resource=\"_other\",decision=\"deny\"} 1"));
  EXPECT_EQ(out.find("we\""), std::string::npos);
  EXPECT_EQ(prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

// The Log hands every committed record to its observer, whether appended in the background or
// committed inline (the proxies' strict path), and none of a failed commit.
TEST(Metrics, LogObserverSeesCommittedRecordsOnly) {
  auto s = std::make_shared<testing::FakeState>();
  Log log(std::make_unique<testing::FakeStore>(s), "gw-1");
  Metrics m;
  log.set_observer([&m](const Event& e) { m.observe(e); });
  ASSERT_TRUE(log.open().ok());
  std::promise<void> done;
  log.append(rec("statement", "pg", "clinic", "allow"),
             [&](Result<uint64_t>) { done.set_value(); });
  done.get_future().wait();
  std::vector<Event> now{rec("http_request", "http", "labs", "deny")};
  ASSERT_TRUE(log.append_now(now).ok());
  s->fail = true;
  std::vector<Event> lost{rec("http_request", "http", "labs", "allow")};
  EXPECT_FALSE(log.append_now(lost).ok());
  std::string out;
  m.render(out);
  EXPECT_TRUE(has_line(
      out, "phigate_decisions_total{protocol=\"pg\",resource=\"clinic\",decision=\"allow\"} 1"));
  EXPECT_TRUE(has_line(
      out, "phigate_decisions_total{protocol=\"http\",resource=\"labs\",decision=\"deny\"} 1"));
  EXPECT_EQ(out.find("resource=\"labs\",decision=\"allow\""), std::string::npos) << out;
}

}  // namespace
}  // namespace phigate::audit
