-- Deterministic synthetic data for demo/schema.sql: the same :patients value always yields the
-- same rows (no random()). Nothing here is a real person:
--   names     combinations of common first/last names
--   MRNs      MRN-00000001 ...
--   SSNs      valid-looking AAA-GG-SSSS: area 001-899 without 666 (never 000 or 9xx),
--             group 01-99, serial 0001-9999 — the shape a detector must recognise
--   emails    first.last.N@example.org (RFC 2606 domain)
--   phones    NNN-555-0100 .. NNN-555-0199 (the range reserved for fiction)
-- Per patient: 3 visits, 5 lab results. Usage: psql -v patients=10000 -f data.sql (default 1000).
\if :{?patients}
\else
  \set patients 1000
\endif

BEGIN;

INSERT INTO patients (id, mrn, first_name, last_name, ssn, email, phone, date_of_birth, address)
SELECT g,
       'MRN-' || lpad(g::text, 8, '0'),
       fn, ln,
       CASE WHEN g % 50 = 0 THEN NULL ELSE
         lpad((CASE WHEN area = 666 THEN 667 ELSE area END)::text, 3, '0') || '-' ||
         lpad((1 + (g * 7) % 99)::text, 2, '0') || '-' ||
         lpad((1 + (g * 7919) % 9999)::text, 4, '0') END,
       lower(fn) || '.' || lower(ln) || '.' || g || '@example.org',
       (ARRAY['202','312','415','617','713','206','305','503'])[1 + g % 8] || '-555-01' ||
         lpad((g % 100)::text, 2, '0'),
       date '1940-01-01' + ((g * 2654435761) % 27000)::int,
       (100 + (g * 37) % 9800) || ' ' ||
         (ARRAY['Oak','Maple','Cedar','Pine','Elm','Birch','Willow','Lake','Hill','Park'])[1 + (g / 7) % 10]
         || ' ' || (ARRAY['St','Ave','Rd','Ln','Blvd'])[1 + g % 5] || ', ' ||
         (ARRAY['Springfield','Riverton','Fairview','Georgetown','Madison','Franklin'])[1 + (g / 3) % 6]
FROM (
  SELECT g,
         (ARRAY['James','Mary','Robert','Patricia','John','Jennifer','Michael','Linda','David',
                'Elizabeth','William','Barbara','Richard','Susan','Joseph','Jessica','Thomas',
                'Sarah','Carlos','Karen','Daniel','Nancy','Matthew','Lisa','Anthony','Betty',
                'Mark','Margaret','Wei','Sandra','Aisha','Ashley','José','Zoë','Nguyen','Priya'])
           [1 + (g * 13) % 36] AS fn,
         (ARRAY['Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis',
                'Rodriguez','Martinez','Hernandez','Lopez','Gonzalez','Wilson','Anderson',
                'Thomas','Taylor','Moore','Jackson','Martin','Lee','Perez','Thompson','White',
                'Harris','Sanchez','Clark','Ramirez','Lewis','Robinson','O''Brien','Müller',
                'Kowalski','Chen','Okafor','Patel'])[1 + (g * 17) % 36] AS ln,
         1 + (g * 101) % 899 AS area
  FROM generate_series(1, :patients) AS g
) s;

INSERT INTO visits (id, patient_id, visit_date, department, notes)
SELECT v,
       p,
       date '2019-01-01' + ((v * 40503) % 1800)::int,
       (ARRAY['Primary care','Cardiology','Endocrinology','Pediatrics','Orthopedics',
              'Dermatology','Emergency'])[1 + v % 7],
       CASE
         WHEN v % 7 = 0 THEN 'Patient called from ' || pt.phone || ' asking about refill.'
         WHEN v % 11 = 0 THEN 'Insurance form lists SSN ' || coalesce(pt.ssn, 'unknown') ||
                              '; verified at front desk.'
         WHEN v % 13 = 0 THEN 'Follow-up for ' || pt.mrn || ', contact ' || pt.email || '.'
         ELSE (ARRAY['Routine check-up, no concerns.',
                     'BP slightly elevated; recheck in 3 months.',
                     'Reports mild headache for 2 days. Advised hydration.',
                     'Medication reconciled. Continue current plan.',
                     'Lab work ordered: CBC, lipid panel.',
                     'Annual physical completed.'])[1 + (v / 3) % 6]
       END
FROM (SELECT v, 1 + (v - 1) / 3 AS p FROM generate_series(1, :patients * 3) AS v) s
JOIN patients pt ON pt.id = s.p;

INSERT INTO lab_results (id, patient_id, visit_id, test_code, test_name, value, unit, flag,
                         collected_at)
SELECT l,
       p,
       (p - 1) * 3 + 1 + l % 3,
       t.code, t.name,
       round((t.lo + ((l * 7727) % 1000) / 1000.0 * (t.hi - t.lo) * 1.3)::numeric, 2),
       t.unit,
       CASE WHEN t.lo + ((l * 7727) % 1000) / 1000.0 * (t.hi - t.lo) * 1.3 > t.hi THEN 'H' END,
       timestamp '2019-01-01 08:00' + ((l * 9973) % 2592000) * interval '1 minute'
FROM (SELECT l, 1 + (l - 1) / 5 AS p, (l - 1) % 5 AS k
      FROM generate_series(1, :patients * 5) AS l) s
JOIN (VALUES (0, '2345-7', 'Glucose', 'mg/dL', 70.0, 99.0),
             (1, '2093-3', 'Cholesterol, total', 'mg/dL', 120.0, 200.0),
             (2, '718-7', 'Hemoglobin', 'g/dL', 12.0, 17.5),
             (3, '4548-4', 'Hemoglobin A1c', '%', 4.0, 5.6),
             (4, '2160-0', 'Creatinine', 'mg/dL', 0.6, 1.3)) AS t(k, code, name, unit, lo, hi)
  ON t.k = s.k;

COMMIT;
ANALYZE patients;
ANALYZE visits;
ANALYZE lab_results;
