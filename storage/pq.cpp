#include "storage/pq.hpp"

#include <array>
#include <cstdlib>
#include <vector>

#include <libpq-fe.h>

namespace incident::pq {

namespace {

// Class 08 is "connection exception"; 57P01..57P03 are the server shutting down or not
// yet accepting connections.
bool lost_state(const std::string& sqlstate) {
    return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" ||
           sqlstate == "57P03";
}

// libpq's message on one line: it spreads one error over several ("connection to server
// ... failed: ...\n\tIs the server running ...?\n"), which would make several log lines.
std::string trimmed(const char* message) {
    std::string text;
    for (const char* c = message ? message : ""; *c; ++c) {
        if (*c != '\n') {
            text += *c == '\t' ? ' ' : *c;
            continue;
        }
        while (c[1] == '\t' || c[1] == ' ') ++c;
        if (c[1] != '\0') text += "; ";
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text.empty() ? std::string("unknown PostgreSQL error") : text;
}

}  // namespace

Result& Result::operator=(Result&& other) noexcept {
    if (this != &other) {
        if (result_) PQclear(result_);
        result_ = other.result_;
        other.result_ = nullptr;
    }
    return *this;
}

Result::~Result() {
    if (result_) PQclear(result_);
}

int Result::rows() const {
    return PQntuples(result_);
}

std::int64_t Result::affected() const {
    const char* count = PQcmdTuples(result_);
    return count && *count ? std::strtoll(count, nullptr, 10) : 0;
}

bool Result::is_null(int row, int column) const {
    return PQgetisnull(result_, row, column) != 0;
}

std::string Result::text(int row, int column) const {
    return std::string(PQgetvalue(result_, row, column),
                       static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

std::int64_t Result::int64(int row, int column) const {
    if (is_null(row, column)) throw Error("unexpected NULL in an integer column", "", false);
    return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
}

bool Result::boolean(int row, int column) const {
    const char* value = PQgetvalue(result_, row, column);
    return value && value[0] == 't';
}

std::optional<std::int64_t> Result::optional_int(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return int64(row, column);
}

std::optional<std::string> Result::optional_text(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return text(row, column);
}

Connection::Connection(const std::string& conninfo) {
    // Later entries override earlier ones, and "dbname" is expanded into the parameters of
    // the user's string: so these are defaults the string can change.
    const std::array<const char*, 8> keywords{"connect_timeout",
                                              "keepalives_idle",
                                              "keepalives_interval",
                                              "keepalives_count",
                                              "tcp_user_timeout",
                                              "application_name",
                                              "dbname",
                                              nullptr};
    const std::array<const char*, 8> values{
        "5", "10", "5", "3", "15000", "incident-bot", conninfo.c_str(), nullptr};
    conn_ = PQconnectdbParams(keywords.data(), values.data(), 1);
    if (!conn_) throw Error("cannot connect to PostgreSQL: out of memory", "", true);
    if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string message =
            "cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(conn_));
        PQfinish(conn_);
        conn_ = nullptr;
        throw Error(message, "08006", true);
    }
    // NOTICEs ("relation already exists, skipping") are not for the bot's output.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        if (conn_) PQfinish(conn_);
        conn_ = other.conn_;
        other.conn_ = nullptr;
    }
    return *this;
}

Connection::~Connection() {
    if (conn_) PQfinish(conn_);
}

bool Connection::ok() const {
    return conn_ && PQstatus(conn_) == CONNECTION_OK;
}

Result Connection::check(pg_result* raw) {
    Result result(raw);
    const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
    const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state ? state : "";
    const bool lost = PQstatus(conn_) != CONNECTION_OK || lost_state(sqlstate);
    const char* message = raw ? PQresultErrorMessage(raw) : nullptr;
    throw Error("PostgreSQL: " + trimmed(message && *message ? message : PQerrorMessage(conn_)),
                sqlstate, lost);
}

Result Connection::exec(std::string_view sql, std::span<const Param> params) {
    if (!conn_) throw Error("PostgreSQL: not connected", "08003", true);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const Param& param : params) values.push_back(param.c_str());
    const std::string statement(sql);
    return check(PQexecParams(conn_, statement.c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, 0));
}

void Connection::exec_script(std::string_view sql) {
    if (!conn_) throw Error("PostgreSQL: not connected", "08003", true);
    const std::string script(sql);
    check(PQexec(conn_, script.c_str()));
}

}  // namespace incident::pq
