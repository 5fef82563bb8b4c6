#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <SQLiteCpp/SQLiteCpp.h>

#include "bot/store.hpp"
#include "pg_server.hpp"
#include "storage/migrations.hpp"
#include "storage/postgres_migrations.hpp"
#include "storage/postgres_store.hpp"
#include "storage/pq.hpp"
#include "storage/sqlite_store.hpp"
#include "temp_db.hpp"

// The engines the store contract runs on: each owns an empty database for one test and
// opens stores on it, as many times as the test likes.
namespace incident::testing {

struct SqliteEngine {
    TempDb db;
    std::unique_ptr<Store> open() { return std::make_unique<SqliteStore>(db.path()); }
    int schema_version() { return SqliteStore(db.path()).schema_version(); }
    // SQL run behind the store's back, to plant what another program might have written.
    void exec(const std::string& sql) {
        SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
        raw.exec(sql);
    }
    std::int64_t scalar(const std::string& sql) {
        SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
        return raw.execAndGet(sql).getInt64();
    }
    // The schema as an older incident-bot left it: migrations up to `version` only.
    void migrate_to(int version) {
        SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        migrate(raw, migrations().first(static_cast<std::size_t>(version)));
    }
};

struct PostgresEngine {
    PgDatabase db;
    std::unique_ptr<Store> open() { return std::make_unique<PostgresStore>(db.conninfo()); }
    int schema_version() { return PostgresStore(db.conninfo()).schema_version(); }
    void exec(const std::string& sql) { pq::Connection(db.conninfo()).exec_script(sql); }
    std::int64_t scalar(const std::string& sql) {
        return pq::Connection(db.conninfo()).exec(sql).int64(0, 0);
    }
    void migrate_to(int version) {
        pq::Connection raw(db.conninfo());
        migrate(raw, postgres_migrations().first(static_cast<std::size_t>(version)));
    }
};

}  // namespace incident::testing

TYPE_TO_STRING(incident::testing::SqliteEngine);
TYPE_TO_STRING(incident::testing::PostgresEngine);
