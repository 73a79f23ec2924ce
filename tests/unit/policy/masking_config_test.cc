#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "mask/profile.h"
#include "policy/config.h"
#include "policy/snapshot.h"

namespace phigate {
namespace {

using ::testing::HasSubstr;

const char* kBase = R"(gateway:
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
    rules: [ { match: { statement: [select] }, action: allow } ]
    masking: phi
)";

ConfigLoad load(const std::string& masking) { return load_config_text(kBase + masking); }

std::string errors(const ConfigLoad& l) { return format_errors(l); }

TEST(MaskingConfig, ParsesEveryKey) {
  auto l = load(R"(masking:
  phi:
    detectors: [US_SSN, EMAIL_ADDRESS]
    columns:
      - { column: patients.ssn, action: redact }
      - { column: "*.email", action: partial }
    custom:
      - { name: MRN, regex: "MRN-[0-9]{8}" }
    threshold: 0.5
    detector_action: hash
    hmac_key_env: PHIGATE_TEST_HMAC
    redact_format: "<{}>"
    on_whole_row: mask
    binary: refuse
)");
  ASSERT_TRUE(l.config) << errors(l);
  ASSERT_EQ(l.config->masking.size(), 1u);
  const MaskingProfileConfig& p = l.config->masking[0];
  EXPECT_EQ(p.name, "phi");
  EXPECT_EQ(p.columns.size(), 2u);
  EXPECT_EQ(p.columns[1].column, "*.email");
  EXPECT_EQ(p.columns[1].line, 19);
  EXPECT_EQ(p.custom[0].regex, "MRN-[0-9]{8}");
  EXPECT_DOUBLE_EQ(p.threshold, 0.5);
  EXPECT_EQ(p.binary, "refuse");
  EXPECT_EQ(l.config->masking_profiles, std::vector<std::string>{"phi"});
}

TEST(MaskingConfig, LineNumberedErrors) {
  auto l = load(R"(masking:
  phi:
    detectors: [US_SSN, NOPE]
    columns:
      - { column: patients.ssn, action: scramble }
      - { column: ssn, action: redact }
    custom:
      - { name: BROKEN, regex: "MRN-([0-9]" }
    colour: red
    on_whole_row: sometimes
)");
  ASSERT_FALSE(l.config);
  std::string e = errors(l);
  EXPECT_THAT(e, HasSubstr(":22: unknown key 'colour' in masking.phi"));
  EXPECT_THAT(e, HasSubstr(":18: masking.phi.columns: unknown mask action \"scramble\""));
  EXPECT_THAT(e, HasSubstr("on_whole_row: 'sometimes'"));
}

TEST(MaskingConfig, BadRegexIsAConfigErrorOnItsLine) {
  auto l = load(R"(masking:
  phi:
    detectors: [US_SSN]
    custom:
      - { name: OK, regex: "A[0-9]+" }
      - { name: BROKEN, regex: "MRN-([0-9]" }
)");
  ASSERT_FALSE(l.config);
  EXPECT_THAT(errors(l), HasSubstr(":19: masking.phi: cannot compile masking detectors in "
                                   "detector \"BROKEN\""));
}

TEST(MaskingConfig, HashNeedsAKeyFromOutsideTheYaml) {
  auto l = load(R"(masking:
  phi:
    columns: [ { column: patients.ssn, action: hash } ]
)");
  ASSERT_FALSE(l.config);
  EXPECT_THAT(errors(l), HasSubstr("HMAC key"));
  l = load(R"(masking:
  phi:
    columns: [ { column: patients.ssn, action: hash } ]
    hmac_key_env: PHIGATE_TEST_HMAC_UNSET
)");
  ASSERT_TRUE(l.config) << errors(l);  // config check does not read secrets
  unsetenv("PHIGATE_TEST_HMAC_UNSET");
  auto s = PolicySnapshot::compile(*l.config, 1);
  ASSERT_FALSE(s) << "serve reads the key and fails closed without it";
  EXPECT_THAT(s.error().message, HasSubstr("PHIGATE_TEST_HMAC_UNSET"));
  setenv("PHIGATE_TEST_HMAC_UNSET", "short", 1);
  EXPECT_FALSE(PolicySnapshot::compile(*l.config, 1)) << "a short key is refused";
  setenv("PHIGATE_TEST_HMAC_UNSET", "0123456789abcdef0123", 1);
  EXPECT_TRUE(PolicySnapshot::compile(*l.config, 1));
  unsetenv("PHIGATE_TEST_HMAC_UNSET");
}

TEST(MaskingConfig, RedactFormatNeedsOnePlaceholder) {
  auto l = load(R"(masking:
  phi:
    detectors: [US_SSN]
    redact_format: "REDACTED"
)");
  ASSERT_FALSE(l.config);
  EXPECT_THAT(errors(l), HasSubstr("exactly one {}"));
}

TEST(MaskingConfig, SnapshotSelectsProfileByRole) {
  auto l = load(R"(  dba:
    resources: [clinic]
    rules: [ { match: { statement: [select] }, action: allow } ]
masking:
  phi:
    detectors: [US_SSN]
    columns: [ { column: patients.ssn, action: redact } ]
)");
  ASSERT_TRUE(l.config) << errors(l);
  auto s = PolicySnapshot::compile(*l.config, 1);
  ASSERT_TRUE(s);
  Identity id;
  id.roles = {"dba", "analyst"};
  auto m = (*s)->masking_for(id, "clinic", "analyst");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name(), "phi");
  EXPECT_EQ(m->match_column("public", "Patients", "SSN"), 0) << "identifiers case-insensitive";
  EXPECT_EQ(m->match_column("public", "visits", "ssn"), -1);
  EXPECT_FALSE((*s)->masking_for(id, "clinic", "dba")) << "the deciding role has no masking";
  EXPECT_TRUE((*s)->masking_for(id, "clinic", "")) << "no deciding role: any role's profile";
}

}  // namespace
}  // namespace phigate
