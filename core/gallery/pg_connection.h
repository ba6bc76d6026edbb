// PgConnection: one libpq connection to PostgreSQL (issue 33) and the few
// calls the PostgreSQL stores make: statements with $n parameters (text, or
// binary for embeddings), results in binary format (embeddings arrive as
// their bytes, not as hex text), transactions, and the status of a failure:
// UNAVAILABLE when the server cannot be reached (the next call reconnects),
// STORAGE_ERROR (INTERNAL) for anything else, the server's message and
// SQLSTATE in it. The connection string may carry a password: no message
// ever includes it (libpq also reads PGPASSWORD and ~/.pgpass itself).
//
// Thread-compatible: one caller at a time (the stores hold a lock).
#ifndef FACESERVE_CORE_GALLERY_PG_CONNECTION_H_
#define FACESERVE_CORE_GALLERY_PG_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct pg_conn;
struct pg_result;

namespace faceserve {

// One $n parameter: text (what PostgreSQL parses into the column's type),
// bytes sent as they are (bytea), or NULL.
struct PgParam {
  static PgParam Text(std::string value) { return PgParam{std::move(value), false, false}; }
  static PgParam Int(int64_t value);
  static PgParam Real(double value);
  static PgParam Bytes(std::string value) { return PgParam{std::move(value), true, false}; }
  static PgParam Floats(const std::vector<float>& values);  // float32, little-endian
  static PgParam Null() { return PgParam{"", false, true}; }

  std::string value;
  bool binary = false;
  bool null = false;
};

// A statement's rows, in binary format: read each column as what the SQL
// makes it (cast in the query: ::int8, ::float8, ::text, bytea).
class PgResult {
 public:
  explicit PgResult(pg_result* result);
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const;
  // Rows an INSERT, UPDATE or DELETE touched.
  int64_t affected() const;
  bool IsNull(int row, int column) const;
  int64_t Int(int row, int column) const;    // int8, int4 or int2
  double Real(int row, int column) const;    // float8
  bool Bool(int row, int column) const;      // boolean
  absl::string_view Bytes(int row, int column) const;  // text or bytea
  std::string Text(int row, int column) const { return std::string(Bytes(row, column)); }
  std::vector<float> Floats(int row, int column) const;  // a float32 bytea

 private:
  pg_result* result_;
};

class PgConnection {
 public:
  // UNAVAILABLE when the server cannot be reached or refuses the login.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(const std::string& dsn);
  ~PgConnection();

  // Runs one statement. A lost connection is UNAVAILABLE (and reconnected
  // on the next call); the caller's transaction, if any, is gone with it.
  absl::StatusOr<PgResult> Exec(const std::string& sql, const std::vector<PgParam>& params = {});
  // Statements with no result worth reading.
  absl::Status Run(const std::string& sql, const std::vector<PgParam>& params = {});

  // Several statements separated by ';', no parameters (the simple query
  // protocol): the schema's migrations.
  absl::Status RunScript(const std::string& sql);

  // The server's process id for this connection (pg_backend_pid), so a test
  // can end it from another connection.
  int backend_pid() const;

  // After LISTEN on this connection: waits up to `timeout` for a
  // notification; true when one (or more) arrived, all of them consumed.
  // UNAVAILABLE when the connection is lost (LISTEN again after the next
  // call reconnects).
  absl::StatusOr<bool> AwaitNotification(absl::Duration timeout);

 private:
  PgConnection(std::string dsn, pg_conn* conn) : dsn_(std::move(dsn)), conn_(conn) {}
  // Connects again after a loss; UNAVAILABLE while the server is away.
  absl::Status EnsureConnected();

  const std::string dsn_;
  pg_conn* conn_;
};

// A transaction on `connection`: BEGIN now, ROLLBACK when it goes out of
// scope without Commit() (an error return).
class PgTransaction {
 public:
  static absl::StatusOr<PgTransaction> Begin(PgConnection* connection);
  PgTransaction(PgTransaction&& other) noexcept : connection_(other.connection_) {
    other.connection_ = nullptr;
  }
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  ~PgTransaction();
  // Durable when OK (synchronous_commit). A connection lost during COMMIT
  // is UNAVAILABLE with the outcome unknown: say so to the client.
  absl::Status Commit();

 private:
  explicit PgTransaction(PgConnection* connection) : connection_(connection) {}
  PgConnection* connection_;
};

// Whether `status` came from a lost or refused connection (UNAVAILABLE).
bool IsPgUnavailable(const absl::Status& status);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_PG_CONNECTION_H_
