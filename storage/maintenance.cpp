#include "storage/maintenance.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <thread>
#include <vector>

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/SQLiteCpp.h>

#include "storage/content_folder.hpp"
#include "storage/migrations.hpp"

namespace incident {

namespace {

namespace fs = std::filesystem;

std::string errno_text() {
    return std::strerror(errno);
}

fs::path directory_of(const std::string& path) {
    const fs::path parent = fs::path(path).parent_path();
    return parent.empty() ? fs::path(".") : parent;
}

bool has_table(SQLite::Database& db, const char* name) {
    SQLite::Statement query(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    query.bind(1, name);
    return query.executeStep();
}

std::int64_t count_incidents(SQLite::Database& db) {
    if (!has_table(db, "incidents")) return 0;
    SQLite::Statement query(db, "SELECT count(*) FROM incidents");
    query.executeStep();
    return query.getColumn(0).getInt64();
}

void require_intact(SQLite::Database& db, const std::string& path) {
    SQLite::Statement check(db, "PRAGMA quick_check");
    check.executeStep();
    const std::string verdict = check.getColumn(0).getString();
    if (verdict != "ok") {
        throw std::runtime_error(path + " failed its integrity check: " + verdict);
    }
}

// All pages in one step: one read transaction, so the copy is one consistent state.
// A busy source (a writer mid-checkpoint) is waited out briefly.
void copy_pages(SQLite::Database& to, SQLite::Database& from) {
    SQLite::Backup backup(to, from);
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (backup.executeStep(-1) == SQLITE_DONE) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("the database stayed locked for 5 seconds; try again");
}

DatabaseInfo info_of(SQLite::Database& db, const std::string& path) {
    DatabaseInfo info;
    info.schema_version = schema_version(db);
    info.incidents = count_incidents(db);
    std::error_code ec;
    info.bytes = fs::file_size(path, ec);
    return info;
}

// Opens a backup or a database to copy from, and makes sure it is one of ours.
int readable_schema(SQLite::Database& db, const std::string& path) {
    const int version = schema_version(db);
    if (version == 0) {
        throw std::runtime_error(path + " is not an incident-bot database (no schema_migrations)");
    }
    if (version > latest_schema_version()) {
        throw std::runtime_error(path + " has schema version " + std::to_string(version) +
                                 ", newer than this incident-bot knows (" +
                                 std::to_string(latest_schema_version()) +
                                 "): use a newer incident-bot");
    }
    return version;
}

// The contents the database's evidence rows say are kept.
std::vector<std::string> stored_contents(SQLite::Database& db) {
    std::vector<std::string> digests;
    if (!has_table(db, "files")) return digests;
    SQLite::Statement query(db,
                            "SELECT DISTINCT sha256 FROM files WHERE status = 'stored' AND sha256 "
                            "<> '' ORDER BY sha256");
    while (query.executeStep()) digests.push_back(query.getColumn(0).getString());
    return digests;
}

struct CopiedContents {
    std::int64_t copied = 0;   // now in the target's folder
    std::int64_t missing = 0;  // in neither folder
};

// Copies the contents `digests` from the folder of the database `from` to that of `to`, each
// flushed before it is named. One the target has already is the same bytes: named by them.
CopiedContents copy_contents(const std::vector<std::string>& digests, const std::string& from,
                             const std::string& to) {
    const ContentFolder source(from, false);
    ContentFolder target(to, false);
    CopiedContents result;
    for (const std::string& digest : digests) {
        if (!target.contains(digest)) {
            const auto bytes = source.get(digest);
            if (!bytes) {
                ++result.missing;
                continue;
            }
            target.put(digest, *bytes);
        }
        ++result.copied;
    }
    return result;
}

void sync_directory(const fs::path& directory) {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

std::string utc_stamp() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
    return text;
}

}  // namespace

DatabaseInfo backup_database(const std::string& source, const std::string& destination) {
    std::error_code ec;
    if (!fs::exists(source, ec)) throw std::runtime_error("no database at " + source);
    const std::string folder = content_folder_of(destination);
    for (const std::string& taken : {destination, folder}) {
        if (fs::exists(taken, ec)) {
            throw std::runtime_error(taken +
                                     " already exists: a backup never overwrites a file; choose "
                                     "a new name");
        }
    }
    const std::string partial = destination + ".partial-" + std::to_string(::getpid());
    const std::string partial_folder = content_folder_of(partial);
    const auto discard = [&] {
        fs::remove(partial, ec);
        fs::remove_all(partial_folder, ec);
    };
    DatabaseInfo info;
    try {
        {
            SQLite::Database from(source, SQLite::OPEN_READONLY, 5000);
            readable_schema(from, source);
            SQLite::Database to(partial, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
            copy_pages(to, from);
        }
        SQLite::Database copy(partial, SQLite::OPEN_READWRITE);
        // The pages carry the live database's WAL mode; a backup is better one plain file.
        copy.exec("PRAGMA journal_mode = DELETE");
        require_intact(copy, destination);
        info = info_of(copy, partial);
        if (const auto digests = stored_contents(copy); !digests.empty()) {
            // Incident data, like the database: for its owner only.
            if (::mkdir(partial_folder.c_str(), 0700) != 0) {
                throw std::runtime_error("cannot create " + partial_folder + ": " + errno_text());
            }
            const CopiedContents contents = copy_contents(digests, source, partial);
            info.files = contents.copied;
            info.files_missing = contents.missing;
        }
    } catch (const SQLite::Exception& e) {
        discard();
        throw std::runtime_error("backup of " + source + " failed: " + e.what());
    } catch (...) {
        discard();
        throw;
    }
    ::chmod(partial.c_str(), 0600);
    // The folder first: a database under its name always has its contents beside it.
    if (fs::exists(partial_folder, ec) && ::rename(partial_folder.c_str(), folder.c_str()) != 0) {
        const std::string why = errno_text();
        discard();
        throw std::runtime_error("cannot create " + folder + ": " + why);
    }
    if (::rename(partial.c_str(), destination.c_str()) != 0) {
        const std::string why = errno_text();
        fs::remove(partial, ec);
        fs::remove_all(folder, ec);
        throw std::runtime_error("cannot create " + destination + ": " + why);
    }
    sync_directory(directory_of(destination));
    return info;
}

RestoreResult restore_database(const std::string& backup, const std::string& target) {
    std::error_code ec;
    if (!fs::exists(backup, ec)) throw std::runtime_error("no backup at " + backup);
    if (fs::equivalent(backup, target, ec)) {
        throw std::runtime_error(backup + " is the database itself, not a backup of it");
    }
    std::vector<std::string> digests;
    try {
        SQLite::Database from(backup, SQLite::OPEN_READONLY);
        require_intact(from, backup);
        readable_schema(from, backup);
        digests = stored_contents(from);
    } catch (const SQLite::Exception& e) {
        throw std::runtime_error(backup + " cannot be read as a database: " + e.what());
    }

    std::string error;
    auto lock = DatabaseLock::acquire(target, DatabaseLock::Mode::exclusive, error);
    if (!lock) throw DatabaseInUse(error);

    RestoreResult result;
    if (fs::exists(target, ec) && fs::file_size(target, ec) > 0) {
        result.previous = target + ".before-restore-" + utc_stamp();
        backup_database(target, result.previous);
    }
    // The contents before the rows that need them; extra ones in the folder harm nothing.
    CopiedContents contents;
    try {
        contents = copy_contents(digests, backup, target);
    } catch (const std::exception& e) {
        throw std::runtime_error("restore into " + target +
                                 " failed, nothing was replaced: " + e.what());
    }
    try {
        SQLite::Database to(target, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 5000);
        {
            SQLite::Database from(backup, SQLite::OPEN_READONLY);
            copy_pages(to, from);
        }
        require_intact(to, target);
        result.restored = info_of(to, target);
        result.restored.files = contents.copied;
        result.restored.files_missing = contents.missing;
    } catch (const SQLite::Exception& e) {
        throw std::runtime_error("restore into " + target + " failed: " + e.what() +
                                 (result.previous.empty()
                                      ? std::string()
                                      : "; the previous database is kept as " + result.previous));
    }
    return result;
}

std::optional<DatabaseLock> DatabaseLock::acquire(const std::string& path, Mode mode,
                                                  std::string& error) {
    if (path.empty() || path == ":memory:" || path.starts_with("file:")) {
        return DatabaseLock(-1);
    }
    // Created when missing: an empty file is a new database to SQLite.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return DatabaseLock(-1);
    const int operation = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
    if (::flock(fd, operation) != 0) {
        const int code = errno;
        ::close(fd);
        if (code == EWOULDBLOCK) {
            error = mode == Mode::shared
                        ? path +
                              " is being restored from a backup; wait for the restore to "
                              "finish, then start incident-bot again"
                        : path +
                              " is in use by a running incident-bot: stop it first "
                              "(systemctl stop incident-bot, or docker stop), then restore";
        } else {
            error = "cannot lock " + path + ": " + std::strerror(code);
        }
        return std::nullopt;
    }
    return DatabaseLock(fd);
}

DatabaseLock::DatabaseLock(DatabaseLock&& other) noexcept : fd_(other.fd_) {
    other.fd_ = -1;
}

DatabaseLock& DatabaseLock::operator=(DatabaseLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

DatabaseLock::~DatabaseLock() {
    if (fd_ >= 0) ::close(fd_);
}

bool database_in_use(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool busy = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);  // also releases the lock when it was taken
    return busy;
}

DatabaseHealth inspect_database(const std::string& path) {
    DatabaseHealth health;
    health.latest_version = latest_schema_version();
    const fs::path directory = directory_of(path);
    std::error_code ec;
    if (struct statvfs vfs{}; ::statvfs(directory.c_str(), &vfs) == 0) {
        health.free_bytes = static_cast<std::uintmax_t>(vfs.f_bavail) * vfs.f_frsize;
    }
    const std::string uid = std::to_string(::geteuid());
    if (!fs::is_directory(directory, ec)) {
        health.directory_error = "the directory " + directory.string() + " does not exist";
        return health;
    }
    if (::access(directory.c_str(), W_OK | X_OK) != 0) {
        health.directory_error = "user " + uid + " cannot create files in " + directory.string() +
                                 " (" + errno_text() + ")";
    }
    health.exists = fs::exists(path, ec);
    if (!health.exists) return health;
    health.bytes = fs::file_size(path, ec);
    if (::access(path.c_str(), R_OK | W_OK) != 0) {
        health.write_error = "user " + uid + " cannot write " + path + " (" + errno_text() + ")";
    }
    try {
        SQLite::Database db(path, SQLite::OPEN_READWRITE, 2000);
        health.schema_version = schema_version(db);
        health.incidents = count_incidents(db);
        try {
            // Takes the write lock and writes, then undoes it: nothing reaches the file.
            db.exec("BEGIN IMMEDIATE");
            db.exec("CREATE TABLE incident_bot_doctor_probe (x)");
            db.exec("ROLLBACK");
        } catch (const SQLite::Exception& e) {
            db.tryExec("ROLLBACK");
            if (health.write_error.empty()) health.write_error = e.what();
        }
    } catch (const SQLite::Exception& e) {
        health.open_error = e.what();
    }
    return health;
}

}  // namespace incident
