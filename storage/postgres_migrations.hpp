#pragma once

#include <span>

#include "storage/migrations.hpp"

namespace incident {

namespace pq {
class Connection;
}

// The PostgreSQL twin of migrations(): the same versions and names, in PostgreSQL's
// dialect. A version added to one list must be added to the other (a unit test checks).
std::span<const Migration> postgres_migrations();

// The highest applied version; 0 for a database that was never migrated.
int schema_version(pq::Connection& db);

// Applies the missing migrations, each in its own transaction, under a session advisory
// lock: replicas that start together wait for one another and migrate once. Throws
// std::runtime_error, before writing anything, when the database is newer than `list`.
void migrate(pq::Connection& db, std::span<const Migration> list);
void migrate(pq::Connection& db);

// The advisory lock key of migrations (pg_advisory_lock), "incident-bot migrate".
inline constexpr long long k_migration_lock = 0x1bc1de47'0000'0001LL;

}  // namespace incident
