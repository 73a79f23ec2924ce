-- phigate demo schema: a small synthetic clinic. All data is fake (see data.sql).
-- Load: psql -v ON_ERROR_STOP=1 -v patients=10000 -f demo/schema.sql -f demo/data.sql
SET client_min_messages = warning;
DROP TABLE IF EXISTS lab_results, visits, patients CASCADE;

CREATE TABLE patients (
  id            bigint PRIMARY KEY,
  mrn           text NOT NULL UNIQUE,          -- MRN-00000001
  first_name    text NOT NULL,
  last_name     text NOT NULL,
  ssn           text,                          -- 123-45-6789 style, synthetic
  email         text,                          -- @example.org only
  phone         text,                          -- NNN-555-01xx (fictional range)
  date_of_birth date NOT NULL,
  address       text
);

CREATE TABLE visits (
  id          bigint PRIMARY KEY,
  patient_id  bigint NOT NULL REFERENCES patients(id),
  visit_date  date NOT NULL,
  department  text NOT NULL,
  notes       text                             -- free text; sometimes mentions phones/SSNs/MRNs
);
CREATE INDEX visits_patient_id ON visits(patient_id);

CREATE TABLE lab_results (
  id           bigint PRIMARY KEY,
  patient_id   bigint NOT NULL REFERENCES patients(id),
  visit_id     bigint REFERENCES visits(id),
  test_code    text NOT NULL,                  -- LOINC-like code
  test_name    text NOT NULL,
  value        numeric(10,2),
  unit         text,
  flag         text,                           -- H / L / null
  collected_at timestamp NOT NULL
);
CREATE INDEX lab_results_patient_id ON lab_results(patient_id);
