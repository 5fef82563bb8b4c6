#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

// libpq's handles, declared so that no libpq header reaches the files that include this one.
struct pg_conn;
struct pg_result;

// A small RAII layer over libpq: a connection, a result, and queries whose values are
// always bound parameters (text format), never spliced into the SQL.
namespace incident::pq {

// A failed connect or statement. The message is libpq's, which names host and user but
// never the password.
class Error : public std::runtime_error {
public:
    Error(const std::string& message, std::string sqlstate, bool connection_lost)
        : std::runtime_error(message),
          sqlstate_(std::move(sqlstate)),
          connection_lost_(connection_lost) {}
    // Five characters such as "23505" (unique_violation); empty when the server sent none.
    const std::string& sqlstate() const { return sqlstate_; }
    // The connection is gone (server stopped, network down): reconnecting may help.
    bool connection_lost() const { return connection_lost_; }

private:
    std::string sqlstate_;
    bool connection_lost_;
};

// One bound parameter: its text, or SQL NULL.
class Param {
public:
    Param(std::nullopt_t) {}
    Param(std::int64_t value) : text_(std::to_string(value)) {}
    Param(int value) : text_(std::to_string(value)) {}
    Param(std::string_view value) : text_(std::string(value)) {}
    Param(const std::string& value) : text_(value) {}
    Param(const char* value) : text_(std::string(value)) {}
    Param(const std::optional<std::int64_t>& value) {
        if (value) text_ = std::to_string(*value);
    }
    Param(const std::optional<std::string>& value) : text_(value) {}
    static Param boolean(bool value) { return Param(value ? "true" : "false"); }

    const char* c_str() const { return text_ ? text_->c_str() : nullptr; }

private:
    std::optional<std::string> text_;
};

class Result {
public:
    explicit Result(pg_result* result) : result_(result) {}
    Result(Result&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
    Result& operator=(Result&& other) noexcept;
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    ~Result();

    int rows() const;
    // Rows written by INSERT/UPDATE/DELETE.
    std::int64_t affected() const;
    bool is_null(int row, int column) const;
    std::string text(int row, int column) const;
    std::int64_t int64(int row, int column) const;
    bool boolean(int row, int column) const;
    std::optional<std::int64_t> optional_int(int row, int column) const;
    std::optional<std::string> optional_text(int row, int column) const;

private:
    pg_result* result_ = nullptr;
};

class Connection {
public:
    // Connects with `conninfo`, a libpq connection string (key=value or postgresql:// URI),
    // with incident-bot's defaults under it (connect and keepalive timeouts,
    // application_name) that the string may override. Throws Error.
    explicit Connection(const std::string& conninfo);
    Connection(Connection&& other) noexcept
        : conn_(other.conn_),
          deferred_(std::move(other.deferred_)),
          prepared_(std::move(other.prepared_)),
          statements_(other.statements_),
          broken_(other.broken_) {
        other.conn_ = nullptr;
    }
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    bool ok() const;

    // One statement with bound parameters ($1, $2, ...), prepared on the server the first
    // time this connection runs it (so the server parses and plans it once). Whatever was
    // deferred goes first, in the same round trip. Throws Error, for a deferred statement's
    // failure too.
    Result exec(std::string_view sql, std::span<const Param> params);
    Result exec(std::string_view sql, std::initializer_list<Param> params = {}) {
        return exec(sql, std::span<const Param>(params.begin(), params.size()));
    }

    // Queues a statement whose result only matters when it fails (BEGIN, SAVEPOINT, a
    // lock): it reaches the server with the next exec, in one round trip (libpq's pipeline
    // mode), and the server still runs it first, with a snapshot of its own.
    void defer(std::string sql, std::initializer_list<Param> params = {});
    // Takes back the last deferred statement when it is `sql`, unsent: a savepoint whose
    // scope ran no statement needs neither itself nor its release.
    bool take_back(std::string_view sql);
    // For a rollback: drops what was deferred since `sql` (inclusive) when `sql` is still
    // unsent, and returns true; otherwise drops everything deferred (all of it came after
    // `sql` was sent) and returns false.
    bool discard_since(std::string_view sql);
    // Sends what was deferred, if anything. Throws Error.
    void flush();

    // Several statements without parameters (a migration). Throws Error.
    void exec_script(std::string_view sql);

private:
    struct Deferred {
        std::string sql;
        std::vector<Param> params;
    };
    Result check(pg_result* result);
    Error error_of(pg_result* result) const;
    // The server-side name of `sql` and whether it is new (to prepare first); empty when
    // the connection keeps no more statements.
    std::pair<std::string, bool> name_for(const std::string& sql);
    // The deferred statements, then `sql` when there is one, in one pipeline.
    Result run_pipeline(const std::string* sql, std::span<const Param> params);

    pg_conn* conn_ = nullptr;
    std::vector<Deferred> deferred_;
    std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
    int statements_ = 0;                                     // names given so far
    bool broken_ = false;  // a pipeline failed half-way: the connection cannot be trusted
};

// "libpq 15.10", loading the library (opened on first use); throws std::runtime_error when
// it is not installed.
std::string library_version();

}  // namespace incident::pq
