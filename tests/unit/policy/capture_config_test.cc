// audit.capture (issue 6): defaults, units, limits and errors with line numbers.
#include <gtest/gtest.h>

#include "policy/config.h"

namespace phigate {
namespace {

const std::string kBase = R"(gateway:
  node_id: gw-test
resources:
  - name: clinic
    type: postgres
    upstream: 127.0.0.1:5432
    database: clinic
    credentials: { username: u, password_env: PW }
roles:
  analyst:
    resources: [clinic]
    rules:
      - { match: { statement: [select] }, action: allow }
)";

TEST(CaptureConfig, DefaultsOnAndSmall) {
  ConfigLoad load = load_config_text(kBase);
  ASSERT_TRUE(load.config.has_value()) << format_errors(load);
  EXPECT_TRUE(load.config->audit.capture.enabled);
  EXPECT_EQ(load.config->audit.capture.rows, 20u);
  EXPECT_EQ(load.config->audit.capture.bytes, 16384u);
}

TEST(CaptureConfig, ParsesUnitsAndOff) {
  ConfigLoad load = load_config_text(
      kBase + "audit:\n  retention: 30d\n  capture: { enabled: false, rows: 5, bytes: 2KiB }\n");
  ASSERT_TRUE(load.config.has_value()) << format_errors(load);
  EXPECT_FALSE(load.config->audit.capture.enabled);
  EXPECT_EQ(load.config->audit.capture.rows, 5u);
  EXPECT_EQ(load.config->audit.capture.bytes, 2048u);
  EXPECT_EQ(load.config->audit.retention, "30d");
}

TEST(CaptureConfig, BadValuesNameTheLine) {
  ConfigLoad load =
      load_config_text(kBase + "audit:\n  capture:\n    bytes: 16 parsecs\n    rows: -1\n");
  ASSERT_FALSE(load.config.has_value());
  std::string errs = format_errors(load);
  EXPECT_NE(errs.find(":16: audit.capture.bytes"), std::string::npos) << errs;
  EXPECT_NE(errs.find(":17: audit.capture.rows"), std::string::npos) << errs;
  load = load_config_text(kBase + "audit:\n  capture: { bytes: 2GiB }\n");
  EXPECT_FALSE(load.config.has_value()) << "above the 1 MiB ceiling";
  load = load_config_text(kBase + "audit:\n  capture: { colour: blue }\n");
  EXPECT_FALSE(load.config.has_value()) << "unknown key";
}

}  // namespace
}  // namespace phigate
