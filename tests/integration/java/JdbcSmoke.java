// pgJDBC through phigate: the extended query protocol (Parse/Bind/Describe/Execute/Sync), named
// server-side statements after prepareThreshold, batches, metadata queries, and a denied statement
// surfacing as SQLException 42501 with the connection still usable.
//
// Usage: java -cp postgresql.jar:. JdbcSmoke HOST PORT ANALYST_TOKEN DBA_TOKEN
// Prints one "KEY value" line per check; exits 1 on the first unexpected failure.
import java.math.BigDecimal;
import java.sql.*;
import java.util.Properties;

public class JdbcSmoke {
  static void out(String k, Object v) { System.out.println(k + " " + v); System.out.flush(); }

  static Connection open(String host, String port, String token, String db) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "jdbc-client");
    p.setProperty("password", token);
    p.setProperty("sslmode", "disable");
    p.setProperty("prepareThreshold", "3");  // switch to named server statements quickly
    p.setProperty("ApplicationName", "JdbcSmoke");
    p.setProperty("connectTimeout", "10");
    p.setProperty("socketTimeout", "60");
    return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + db, p);
  }

  public static void main(String[] a) throws Exception {
    String host = a[0], port = a[1], analyst = a[2], dba = a[3];
    try (Connection c = open(host, port, analyst, "clinic")) {
      // PreparedStatement with a parameter, executed often enough to become a named statement
      try (PreparedStatement ps =
               c.prepareStatement("SELECT id, mrn, first_name FROM patients WHERE id = ?")) {
        for (int i = 1; i <= 10; i++) {
          ps.setInt(1, i);
          try (ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) throw new AssertionError("no row for id " + i);
            out("ROW", rs.getLong(1) + "|" + rs.getString(2) + "|" + rs.getString(3));
          }
        }
      }
      // typed parameters, NULL, unicode
      try (PreparedStatement ps = c.prepareStatement(
               "SELECT ?::text, ?::int, ?::numeric, ?::date, ?::text IS NULL, length(?::text)")) {
        ps.setString(1, "héllo ✓ 🙂");
        ps.setInt(2, -42);
        ps.setBigDecimal(3, new BigDecimal("12345.6789"));
        ps.setDate(4, Date.valueOf("2020-02-29"));
        ps.setNull(5, Types.VARCHAR);
        ps.setString(6, "x".repeat(100000));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          out("TYPES", rs.getString(1) + "|" + rs.getInt(2) + "|" + rs.getBigDecimal(3) + "|"
                  + rs.getDate(4) + "|" + rs.getBoolean(5) + "|" + rs.getInt(6));
        }
      }
      // a multi-row result fetched in chunks (portal suspension with fetchSize, needs a tx)
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement(
               "SELECT id, notes FROM visits WHERE patient_id <= ? ORDER BY id")) {
        ps.setFetchSize(7);
        ps.setInt(1, 20);
        int n = 0;
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) n++;
        }
        out("FETCHED", n);
      }
      c.commit();
      c.setAutoCommit(true);
      // driver metadata queries (catalog selects)
      try (ResultSet rs = c.getMetaData().getTables(null, "public", "patients", null)) {
        out("META", rs.next() ? rs.getString("TABLE_NAME") : "none");
      }
      // denied statement: SQLException 42501, connection continues
      try (Statement st = c.createStatement()) {
        try {
          st.executeUpdate("DELETE FROM visits");
          out("DENIED", "NOT-DENIED");
          System.exit(1);
        } catch (SQLException e) {
          out("DENIED", e.getSQLState() + " " + e.getMessage().replace('\n', ' '));
        }
        try (ResultSet rs = st.executeQuery("SELECT 1")) {
          rs.next();
          out("AFTER_DENY", rs.getInt(1));
        }
      }
      // denied prepared statement (deny at Parse/Bind/Execute), then the same connection goes on
      try (PreparedStatement ps = c.prepareStatement("UPDATE patients SET email = ? WHERE id = ?")) {
        ps.setString(1, "evil@example.org");
        ps.setInt(2, 1);
        try {
          ps.executeUpdate();
          out("DENIED_PREPARED", "NOT-DENIED");
          System.exit(1);
        } catch (SQLException e) {
          out("DENIED_PREPARED", e.getSQLState());
        }
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT email FROM patients WHERE id = ?")) {
        ps.setInt(1, 1);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          out("EMAIL1", rs.getString(1));
        }
      }
      // denial inside a transaction: the transaction is aborted (25P02) until rollback
      c.setAutoCommit(false);
      try (Statement st = c.createStatement()) {
        st.executeQuery("SELECT 1").close();
        try {
          st.executeUpdate("DELETE FROM visits");
        } catch (SQLException e) {
          out("TX_DENIED", e.getSQLState());
        }
        try {
          st.executeQuery("SELECT 1").close();
          out("TX_AFTER", "no-error");
        } catch (SQLException e) {
          out("TX_AFTER", e.getSQLState());
        }
        c.rollback();
        try (ResultSet rs = st.executeQuery("SELECT 3")) {
          rs.next();
          out("TX_RECOVERED", rs.getInt(1));
        }
        c.commit();
      }
      c.setAutoCommit(true);
    }

    try (Connection c = open(host, port, dba, "clinic")) {
      try (Statement st = c.createStatement()) {
        st.execute("CREATE TABLE jdbc_batch (id int PRIMARY KEY, name text, amount numeric)");
      }
      c.setAutoCommit(false);
      try (PreparedStatement ps =
               c.prepareStatement("INSERT INTO jdbc_batch (id, name, amount) VALUES (?, ?, ?)")) {
        for (int i = 1; i <= 1000; i++) {
          ps.setInt(1, i);
          ps.setString(2, i % 10 == 0 ? null : "name-" + i);
          ps.setBigDecimal(3, new BigDecimal(i).movePointLeft(2));
          ps.addBatch();
        }
        int[] counts = ps.executeBatch();
        int sum = 0;
        for (int x : counts) sum += (x == Statement.SUCCESS_NO_INFO ? 1 : x);
        out("BATCH", sum);
      }
      c.commit();
      // a failing batch (duplicate key) rolls back and the connection is still fine
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_batch (id) VALUES (?)")) {
        ps.setInt(1, 5000);
        ps.addBatch();
        ps.setInt(1, 1);
        ps.addBatch();
        try {
          ps.executeBatch();
          out("BATCH_DUP", "no-error");
        } catch (SQLException e) {
          out("BATCH_DUP", e.getSQLState());
        }
      }
      c.rollback();
      c.setAutoCommit(true);
      try (Statement st = c.createStatement();
           ResultSet rs = st.executeQuery("SELECT count(*), sum(amount) FROM jdbc_batch")) {
        rs.next();
        out("BATCH_TOTAL", rs.getInt(1) + "|" + rs.getBigDecimal(2));
      }
    }
    out("DONE", "ok");
  }
}
