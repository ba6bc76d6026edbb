#include "core/gallery/pg_connection.h"

#include <endian.h>
#include <libpq-fe.h>
#include <poll.h>

#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/error_reason.h"

namespace faceserve {
namespace {

absl::Status Unavailable(absl::string_view what) {
  return WithReason(absl::UnavailableError(absl::StrCat(
                        "the gallery database (PostgreSQL) cannot be reached: ",
                        absl::StripTrailingAsciiWhitespace(what))),
                    ErrorReason::kStorageError);
}

// SQLSTATE classes that mean the server is gone or not taking work:
// 08 connection exceptions, 57P01-57P03 shut down or starting up.
bool ConnectionLost(absl::string_view sqlstate) {
  return absl::StartsWith(sqlstate, "08") || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

absl::Status ErrorOf(PGconn* conn, const PGresult* r) {
  if (r == nullptr || PQstatus(conn) == CONNECTION_BAD) return Unavailable(PQerrorMessage(conn));
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const std::string sqlstate = state != nullptr ? state : "";
  const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  const std::string message = primary != nullptr ? primary : PQresultErrorMessage(r);
  if (ConnectionLost(sqlstate)) return Unavailable(message);
  return WithReason(absl::InternalError(absl::StrCat("gallery database: ", message,
                                                     " (SQLSTATE ", sqlstate, ")")),
                    ErrorReason::kStorageError);
}

uint64_t BigEndian64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return be64toh(v);
}

}  // namespace

PgParam PgParam::Int(int64_t value) { return Text(absl::StrCat(value)); }

PgParam PgParam::Real(double value) {
  // Shortest text that reads back as the same double.
  return Text(absl::StrFormat("%.17g", value));
}

PgParam PgParam::Floats(const std::vector<float>& values) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "embeddings are stored little-endian");
  return Bytes(std::string(reinterpret_cast<const char*>(values.data()),
                           values.size() * sizeof(float)));
}

PgResult::PgResult(pg_result* result) : result_(result) {}
PgResult::PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}

int PgResult::rows() const { return PQntuples(result_); }

int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(result_);
  return n == nullptr || *n == '\0' ? 0 : std::strtoll(n, nullptr, 10);
}

bool PgResult::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

int64_t PgResult::Int(int row, int column) const {
  const char* p = PQgetvalue(result_, row, column);
  switch (PQgetlength(result_, row, column)) {
    case 8:
      return static_cast<int64_t>(BigEndian64(p));
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, sizeof v);
      return static_cast<int32_t>(be32toh(v));
    }
    case 2: {
      uint16_t v;
      std::memcpy(&v, p, sizeof v);
      return static_cast<int16_t>(be16toh(v));
    }
    default:
      return 0;
  }
}

double PgResult::Real(int row, int column) const {
  if (PQgetlength(result_, row, column) != 8) return 0;
  const uint64_t bits = BigEndian64(PQgetvalue(result_, row, column));
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

bool PgResult::Bool(int row, int column) const {
  return PQgetlength(result_, row, column) == 1 && PQgetvalue(result_, row, column)[0] != 0;
}

absl::string_view PgResult::Bytes(int row, int column) const {
  return absl::string_view(PQgetvalue(result_, row, column),
                          static_cast<size_t>(PQgetlength(result_, row, column)));
}

std::vector<float> PgResult::Floats(int row, int column) const {
  const absl::string_view bytes = Bytes(row, column);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& dsn) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  if (conn == nullptr) return Unavailable("out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status s = Unavailable(PQerrorMessage(conn));
    PQfinish(conn);
    return s;
  }
  // NOTICEs ("... already exists, skipping") are not for the server's log;
  // errors and warnings that matter come back as results.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(dsn, conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

absl::Status PgConnection::EnsureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) return Unavailable(PQerrorMessage(conn_));
  return absl::OkStatus();
}

absl::StatusOr<PgResult> PgConnection::Exec(const std::string& sql,
                                            const std::vector<PgParam>& params) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  for (const PgParam& p : params) {
    values.push_back(p.null ? nullptr : p.value.data());
    lengths.push_back(static_cast<int>(p.value.size()));
    formats.push_back(p.binary ? 1 : 0);
  }
  PGresult* raw = PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), lengths.data(), formats.data(), /*resultFormat=*/1);
  PgResult owned(raw);
  if (raw != nullptr) {
    const ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return owned;
  }
  return ErrorOf(conn_, raw);
}

absl::Status PgConnection::Run(const std::string& sql, const std::vector<PgParam>& params) {
  return Exec(sql, params).status();
}

absl::Status PgConnection::RunScript(const std::string& sql) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  PGresult* raw = PQexec(conn_, sql.c_str());
  PgResult owned(raw);
  if (raw != nullptr) {
    const ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return absl::OkStatus();
  }
  return ErrorOf(conn_, raw);
}

int PgConnection::backend_pid() const { return PQbackendPID(conn_); }

absl::StatusOr<bool> PgConnection::AwaitNotification(absl::Duration timeout) {
  if (PQstatus(conn_) != CONNECTION_OK) return Unavailable(PQerrorMessage(conn_));
  // Notifications that arrived with an earlier result are already read.
  bool notified = false;
  for (PGnotify* n; (n = PQnotifies(conn_)) != nullptr;) {
    PQfreemem(n);
    notified = true;
  }
  if (notified) return true;
  pollfd fd{PQsocket(conn_), POLLIN, 0};
  const int ready = poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (ready <= 0) return false;  // timed out (or a signal): the caller looks anyway
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
    return Unavailable(PQerrorMessage(conn_));
  }
  for (PGnotify* n; (n = PQnotifies(conn_)) != nullptr;) {
    PQfreemem(n);
    notified = true;
  }
  return notified;
}

absl::StatusOr<PgTransaction> PgTransaction::Begin(PgConnection* connection) {
  if (absl::Status s = connection->Run("BEGIN"); !s.ok()) return s;
  return PgTransaction(connection);
}

PgTransaction::~PgTransaction() {
  if (connection_ != nullptr) connection_->Run("ROLLBACK").IgnoreError();
}

absl::Status PgTransaction::Commit() {
  PgConnection* connection = std::exchange(connection_, nullptr);
  absl::Status s = connection->Run("COMMIT");
  if (IsPgUnavailable(s)) {
    return WithReason(absl::UnavailableError(absl::StrCat(
                          "the gallery database went away while committing: the change may or "
                          "may not have been made (",
                          s.message(), ")")),
                      ErrorReason::kStorageError);
  }
  return s;
}

bool IsPgUnavailable(const absl::Status& status) { return absl::IsUnavailable(status); }

}  // namespace faceserve
