#include "storage/pq.hpp"

#include <array>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <vector>

#include <libpq-fe.h>

#include "bot/shared_library.hpp"

namespace incident::pq {

namespace {

// libpq, opened with the first connection (bot/shared_library.hpp): a bot on SQLite never
// loads it nor its Kerberos, LDAP and GnuTLS.
struct Libpq {
    SharedLibrary library{"libpq.so.5"};
    INCIDENT_LIBRARY_FUNCTION(library, PQclear);
    INCIDENT_LIBRARY_FUNCTION(library, PQcmdTuples);
    INCIDENT_LIBRARY_FUNCTION(library, PQconnectdbParams);
    INCIDENT_LIBRARY_FUNCTION(library, PQenterPipelineMode);
    INCIDENT_LIBRARY_FUNCTION(library, PQerrorMessage);
    INCIDENT_LIBRARY_FUNCTION(library, PQexec);
    INCIDENT_LIBRARY_FUNCTION(library, PQexecParams);
    INCIDENT_LIBRARY_FUNCTION(library, PQexecPrepared);
    INCIDENT_LIBRARY_FUNCTION(library, PQexitPipelineMode);
    INCIDENT_LIBRARY_FUNCTION(library, PQfinish);
    INCIDENT_LIBRARY_FUNCTION(library, PQgetisnull);
    INCIDENT_LIBRARY_FUNCTION(library, PQgetlength);
    INCIDENT_LIBRARY_FUNCTION(library, PQgetResult);
    INCIDENT_LIBRARY_FUNCTION(library, PQgetvalue);
    INCIDENT_LIBRARY_FUNCTION(library, PQlibVersion);
    INCIDENT_LIBRARY_FUNCTION(library, PQntuples);
    INCIDENT_LIBRARY_FUNCTION(library, PQpipelineSync);
    INCIDENT_LIBRARY_FUNCTION(library, PQprepare);
    INCIDENT_LIBRARY_FUNCTION(library, PQresultErrorField);
    INCIDENT_LIBRARY_FUNCTION(library, PQresultErrorMessage);
    INCIDENT_LIBRARY_FUNCTION(library, PQresultStatus);
    INCIDENT_LIBRARY_FUNCTION(library, PQsendPrepare);
    INCIDENT_LIBRARY_FUNCTION(library, PQsendQueryPrepared);
    INCIDENT_LIBRARY_FUNCTION(library, PQsetNoticeProcessor);
    INCIDENT_LIBRARY_FUNCTION(library, PQstatus);
};

// Statements a connection keeps prepared; past this, statements run unprepared (the SQL is
// always one of the store's constants, so this only guards against a future mistake).
constexpr std::size_t k_max_prepared = 512;

std::vector<const char*> values_of(std::span<const Param> params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const Param& param : params) values.push_back(param.c_str());
    return values;
}

// Loaded once; a failure throws, and the next call tries again.
const Libpq& libpq() {
    static const Libpq loaded;
    return loaded;
}

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
        if (result_) libpq().PQclear(result_);
        result_ = other.result_;
        other.result_ = nullptr;
    }
    return *this;
}

Result::~Result() {
    if (result_) libpq().PQclear(result_);
}

int Result::rows() const {
    return libpq().PQntuples(result_);
}

std::int64_t Result::affected() const {
    const char* count = libpq().PQcmdTuples(result_);
    return count && *count ? std::strtoll(count, nullptr, 10) : 0;
}

bool Result::is_null(int row, int column) const {
    return libpq().PQgetisnull(result_, row, column) != 0;
}

std::string Result::text(int row, int column) const {
    return std::string(libpq().PQgetvalue(result_, row, column),
                       static_cast<std::size_t>(libpq().PQgetlength(result_, row, column)));
}

std::int64_t Result::int64(int row, int column) const {
    if (is_null(row, column)) throw Error("unexpected NULL in an integer column", "", false);
    return std::strtoll(libpq().PQgetvalue(result_, row, column), nullptr, 10);
}

bool Result::boolean(int row, int column) const {
    const char* value = libpq().PQgetvalue(result_, row, column);
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
    conn_ = libpq().PQconnectdbParams(keywords.data(), values.data(), 1);
    if (!conn_) throw Error("cannot connect to PostgreSQL: out of memory", "", true);
    if (libpq().PQstatus(conn_) != CONNECTION_OK) {
        const std::string message =
            "cannot connect to PostgreSQL: " + trimmed(libpq().PQerrorMessage(conn_));
        libpq().PQfinish(conn_);
        conn_ = nullptr;
        throw Error(message, "08006", true);
    }
    // NOTICEs ("relation already exists, skipping") are not for the bot's output.
    libpq().PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        if (conn_) libpq().PQfinish(conn_);
        conn_ = other.conn_;
        other.conn_ = nullptr;
        deferred_ = std::move(other.deferred_);
        prepared_ = std::move(other.prepared_);
        statements_ = other.statements_;
        broken_ = other.broken_;
    }
    return *this;
}

Connection::~Connection() {
    if (conn_) libpq().PQfinish(conn_);
}

bool Connection::ok() const {
    return conn_ && !broken_ && libpq().PQstatus(conn_) == CONNECTION_OK;
}

Error Connection::error_of(pg_result* raw) const {
    const char* state = raw ? libpq().PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state ? state : "";
    const bool lost = libpq().PQstatus(conn_) != CONNECTION_OK || lost_state(sqlstate);
    const char* message = raw ? libpq().PQresultErrorMessage(raw) : nullptr;
    return Error(
        "PostgreSQL: " + trimmed(message && *message ? message : libpq().PQerrorMessage(conn_)),
        sqlstate, lost);
}

Result Connection::check(pg_result* raw) {
    Result result(raw);
    const ExecStatusType status = raw ? libpq().PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
    throw error_of(raw);
}

std::pair<std::string, bool> Connection::name_for(const std::string& sql) {
    if (const auto it = prepared_.find(sql); it != prepared_.end()) return {it->second, false};
    if (prepared_.size() >= k_max_prepared) return {std::string(), false};
    std::string name = "incident_" + std::to_string(++statements_);
    prepared_.emplace(sql, name);
    return {std::move(name), true};
}

Result Connection::exec(std::string_view sql, std::span<const Param> params) {
    if (!conn_) throw Error("PostgreSQL: not connected", "08003", true);
    const std::string statement(sql);
    if (!deferred_.empty()) return run_pipeline(&statement, params);
    const auto [name, fresh] = name_for(statement);
    const std::vector<const char*> values = values_of(params);
    const int count = static_cast<int>(values.size());
    if (name.empty()) {
        return check(libpq().PQexecParams(conn_, statement.c_str(), count, nullptr, values.data(),
                                          nullptr, nullptr, 0));
    }
    if (fresh) {
        try {
            check(libpq().PQprepare(conn_, name.c_str(), statement.c_str(), 0, nullptr));
        } catch (...) {
            prepared_.erase(statement);
            throw;
        }
    }
    return check(
        libpq().PQexecPrepared(conn_, name.c_str(), count, values.data(), nullptr, nullptr, 0));
}

void Connection::defer(std::string sql, std::initializer_list<Param> params) {
    deferred_.push_back({std::move(sql), std::vector<Param>(params)});
}

bool Connection::take_back(std::string_view sql) {
    if (deferred_.empty() || deferred_.back().sql != sql) return false;
    deferred_.pop_back();
    return true;
}

bool Connection::discard_since(std::string_view sql) {
    for (auto it = deferred_.rbegin(); it != deferred_.rend(); ++it) {
        if (it->sql == sql) {
            deferred_.erase(std::prev(it.base()), deferred_.end());
            return true;
        }
    }
    deferred_.clear();
    return false;
}

void Connection::flush() {
    if (deferred_.empty()) return;
    if (!conn_) throw Error("PostgreSQL: not connected", "08003", true);
    run_pipeline(nullptr, {});
}

Result Connection::run_pipeline(const std::string* sql, std::span<const Param> params) {
    const Libpq& pq = libpq();
    std::vector<Deferred> queued = std::move(deferred_);
    deferred_.clear();
    // What was sent, in order: each statement's prepare (the first time) and execution.
    struct Sent {
        const std::string* sql;
        bool prepare;
    };
    std::vector<Sent> sent;
    const auto lost = [&] {
        return Error("PostgreSQL: " + trimmed(pq.PQerrorMessage(conn_)), "08006", true);
    };
    if (!pq.PQenterPipelineMode(conn_)) {
        broken_ = true;
        throw lost();
    }
    const auto send = [&](const std::string& text, std::span<const Param> bound) {
        auto [name, fresh] = name_for(text);
        fresh = fresh || name.empty();  // unprepared: the unnamed statement, parsed anew
        if (fresh && !pq.PQsendPrepare(conn_, name.c_str(), text.c_str(), 0, nullptr)) return false;
        if (fresh) sent.push_back({&text, true});
        const std::vector<const char*> values = values_of(bound);
        if (!pq.PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                    values.data(), nullptr, nullptr, 0))
            return false;
        sent.push_back({&text, false});
        return true;
    };
    bool sending = true;
    for (const Deferred& d : queued) sending = sending && send(d.sql, d.params);
    if (sql) sending = sending && send(*sql, params);
    if (!sending || !pq.PQpipelineSync(conn_)) {
        for (const Sent& s : sent) {
            if (s.prepare) prepared_.erase(*s.sql);
        }
        broken_ = true;  // unusable now: its owner opens another
        throw lost();
    }

    std::optional<Error> failure;
    Result last(nullptr);
    for (std::size_t i = 0; i < sent.size(); ++i) {
        pg_result* raw = pq.PQgetResult(conn_);
        if (!raw) {
            // The connection broke mid-pipeline: nothing more will come.
            for (std::size_t j = i; j < sent.size(); ++j) {
                if (sent[j].prepare) prepared_.erase(*sent[j].sql);
            }
            broken_ = true;
            throw failure ? *failure : lost();
        }
        const ExecStatusType status = pq.PQresultStatus(raw);
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            if (i + 1 == sent.size() && sql)
                last = Result(raw);
            else
                pq.PQclear(raw);
        } else {
            if (sent[i].prepare) prepared_.erase(*sent[i].sql);
            // The first failure is the one to report; the rest were skipped because of it.
            if (!failure && status != PGRES_PIPELINE_ABORTED) failure = error_of(raw);
            pq.PQclear(raw);
        }
        // Each statement's results end with a null.
        while (pg_result* extra = pq.PQgetResult(conn_)) pq.PQclear(extra);
    }
    if (pg_result* sync = pq.PQgetResult(conn_)) pq.PQclear(sync);
    if (!pq.PQexitPipelineMode(conn_)) {
        broken_ = true;
        throw failure ? *failure : lost();
    }
    if (failure) throw *failure;
    return last;
}

void Connection::exec_script(std::string_view sql) {
    flush();
    if (!conn_) throw Error("PostgreSQL: not connected", "08003", true);
    const std::string script(sql);
    check(libpq().PQexec(conn_, script.c_str()));
}

std::string library_version() {
    // 150010 is 15.10 (since PostgreSQL 10).
    const int version = libpq().PQlibVersion();
    return "libpq " + std::to_string(version / 10000) + "." + std::to_string(version % 10000);
}

}  // namespace incident::pq
