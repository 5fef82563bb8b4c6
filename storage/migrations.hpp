#pragma once

#include <span>
#include <string_view>

namespace SQLite {
class Database;
}

namespace incident {

// One step of the schema. Versions are strictly increasing and never reused: a released
// migration is never edited, a change is a new migration.
struct Migration {
    int version = 0;
    std::string_view name;
    std::string_view sql;
};

// Every migration this build knows, oldest first.
std::span<const Migration> migrations();
int latest_schema_version();

// The highest applied version; 0 for a database that was never migrated.
int schema_version(SQLite::Database& db);

// Applies the missing migrations, each in its own transaction, and records them in
// schema_migrations. Throws std::runtime_error, before writing anything, when the database
// is newer than `list` knows.
void migrate(SQLite::Database& db, std::span<const Migration> list);
void migrate(SQLite::Database& db);

}  // namespace incident
