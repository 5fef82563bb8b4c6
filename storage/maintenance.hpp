#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace incident {

struct DatabaseInfo {
    int schema_version = 0;
    std::int64_t incidents = 0;
    std::uintmax_t bytes = 0;
    // Evidence contents (<db>.files/) the copy's stored files need: copied beside it, and
    // those the source did not have either.
    std::int64_t files = 0;
    std::int64_t files_missing = 0;
};

// Copies the database at `source` into the new file `destination` with SQLite's online
// backup API, in one read transaction: a consistent snapshot, taken while the bot keeps
// writing (WAL lets readers and the writer run side by side). The copy is a single file
// (journal mode DELETE), checked with PRAGMA quick_check, readable by its owner only, and
// appears under its name only once complete. The contents of its stored evidence files go
// into DESTINATION.files/, read after the snapshot (a row says stored only once its content
// is on disk, so every one the snapshot needs is there). Never overwrites a file; throws
// std::runtime_error saying what went wrong.
DatabaseInfo backup_database(const std::string& source, const std::string& destination);

// The database is held by a running incident-bot (see DatabaseLock).
class DatabaseInUse : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct RestoreResult {
    DatabaseInfo restored;
    std::string previous;  // where the replaced database was kept; empty when there was none
};

// Replaces the contents of `target` with the backup at `backup`, after checking that the
// backup is an intact incident-bot database this build can read. Takes `target`'s lock
// exclusively first and throws DatabaseInUse while a bot holds it. A non-empty `target`
// is first backed up next to itself as TARGET.before-restore-<UTC time>. The evidence
// contents in BACKUP.files/ are added to TARGET.files/ before the database is replaced.
RestoreResult restore_database(const std::string& backup, const std::string& target);

// An advisory lock (flock) on the database file: the bot holds it shared while it runs,
// a restore needs it exclusively. Independent of SQLite's own POSIX locks; the descriptor
// stays open for the lock's lifetime, so it must outlive every SQLite connection to the
// file in this process (closing any descriptor of a file drops the process's POSIX locks).
class DatabaseLock {
public:
    enum class Mode { shared, exclusive };

    // Nullopt with `error` set when the lock is held in a conflicting mode. A file that
    // cannot be opened gives a lock that holds nothing: opening the database reports that.
    static std::optional<DatabaseLock> acquire(const std::string& path, Mode mode,
                                               std::string& error);

    DatabaseLock(DatabaseLock&& other) noexcept;
    DatabaseLock& operator=(DatabaseLock&& other) noexcept;
    DatabaseLock(const DatabaseLock&) = delete;
    DatabaseLock& operator=(const DatabaseLock&) = delete;
    ~DatabaseLock();

private:
    explicit DatabaseLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

// True while a process holds the database's lock (a running incident-bot). Creates nothing.
bool database_in_use(const std::string& path);

// What `incident-bot doctor` reports about the database, found without creating or
// migrating it; every error is a sentence for people.
struct DatabaseHealth {
    bool exists = false;
    std::string open_error;  // empty: opened and read
    int schema_version = 0;
    int latest_version = 0;
    std::int64_t incidents = 0;
    std::uintmax_t bytes = 0;
    std::string write_error;      // empty: a write transaction could start
    std::string directory_error;  // the directory cannot take new files (-wal, -shm, a new db)
    std::optional<std::uintmax_t> free_bytes;  // for unprivileged users, where the file lives
};
DatabaseHealth inspect_database(const std::string& path);

}  // namespace incident
