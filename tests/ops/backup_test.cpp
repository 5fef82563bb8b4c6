#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "adapters/net/digest.hpp"
#include "bot/clock.hpp"
#include "bot/evidence.hpp"
#include "bot/incident_service.hpp"
#include "evidence_checks.hpp"
#include "process.hpp"
#include "storage/sqlite_store.hpp"

using namespace incident;
using namespace incident::testing;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

const std::vector<std::string> k_env{"INCIDENT_BOT_LISTEN=127.0.0.1:0"};

std::string export_of(const fs::path& dir, const fs::path& db, const std::string& key,
                      const std::string& format) {
    const Run r = run_binary({"export", key, "--format", format, "--db", db.string()}, k_env, dir);
    CHECK_MESSAGE(r.status == 0, key << " from " << db << ": " << r.err);
    return r.out;
}

// Keeps `bytes` as evidence file `name` of INC-1 in the database at `db`, the way an adapter
// does once it has downloaded a shared file: recorded, then kept under its SHA-256.
EvidenceFile keep_evidence(const fs::path& db, const std::string& name, const std::string& type,
                           const std::string& bytes) {
    SqliteStore store(db.string());
    SystemClock clock;
    IncidentService service(store, clock);
    MessagePosted message{{"ev-" + name, "console", "C-inc-1", clock.now()},
                          "m-" + name,
                          "",
                          Actor{"U2", "bob"},
                          "the screenshot",
                          false};
    const SharedFile shared{"F-" + name, name, type, static_cast<std::int64_t>(bytes.size()), ""};
    EvidenceFile file = evidence_of(shared, 1, message, clock.now());
    REQUIRE(store.add_file(file));
    file = service.keep_file(file.id, bytes, net::sha256_hex(bytes));
    REQUIRE(file.status == FileStatus::stored);
    return file;
}

}  // namespace

TEST_CASE("backup and restore: a backup taken while the bot runs restores the same post-mortems") {
    TempDir dir("backup");
    const fs::path db = dir.path / "bot.db";
    const fs::path backup = dir.path / "backup-1.db";
    const std::string script =
        std::string(INCIDENT_BOT_SOURCE_DIR) + "/tests/e2e/incident_script.txt";
    Run r = run_binary({"console", "--db", db.string()}, k_env, dir.path, script);
    REQUIRE_MESSAGE(r.status == 0, r.err);

    // A bot runs on the database (a console whose input stays open).
    ProcessOptions options;
    options.args = {"console", "--db", db.string()};
    options.env = k_env;
    options.stdin_pipe = true;
    options.out = dir.path / "bot.out";
    options.err = dir.path / "bot.err";
    Process bot(k_binary, options);
    for (int i = 0; i < 400 && !has(bot.err(), "dashboard:"); ++i) {
        std::this_thread::sleep_for(milliseconds(25));
    }
    REQUIRE_MESSAGE(has(bot.err(), "dashboard:"), bot.err());

    r = run_binary({"backup", backup.string(), "--db", db.string()}, k_env, dir.path);
    CAPTURE(r.err);
    CHECK(r.status == 0);
    CHECK(has(r.out, "backed up " + db.string() + " to " + backup.string() +
                         ": 2 incident(s), schema version"));
    CHECK((fs::status(backup).permissions() & fs::perms::others_read) == fs::perms::none);
    // A single file: no -wal or -shm belongs to it.
    CHECK_FALSE(fs::exists(backup.string() + "-wal"));

    r = run_binary({"backup", backup.string(), "--db", db.string()}, k_env, dir.path);
    CHECK(r.status == 1);
    CHECK(has(r.err, backup.string() + " already exists: a backup never overwrites a file"));

    r = run_binary({"restore", backup.string(), "--db", db.string()}, k_env, dir.path);
    CHECK(r.status == 1);
    CHECK(has(r.err, db.string() + " is in use by a running incident-bot: stop it first"));

    bot.close_stdin();
    REQUIRE(bot.wait_blocking(milliseconds(15'000)) == 0);

    // Into a new database: the same post-mortems, the same JSON.
    const fs::path fresh = dir.path / "restored.db";
    r = run_binary({"restore", backup.string(), "--db", fresh.string()}, k_env, dir.path);
    CAPTURE(r.err);
    CHECK(r.status == 0);
    CHECK(
        has(r.out, "restored " + fresh.string() + " from " + backup.string() + ": 2 incident(s)"));
    CHECK_FALSE(has(r.out, "kept as"));
    for (const std::string key : {"INC-1", "INC-2"}) {
        const std::string original = export_of(dir.path, db, key, "md");
        CHECK(has(original, "# " + key + ":"));
        CHECK(export_of(dir.path, fresh, key, "md") == original);
        CHECK(export_of(dir.path, fresh, key, "json") == export_of(dir.path, db, key, "json"));
    }

    // Over the original, which has changed since: it comes back as it was, and what it was
    // just before the restore is kept next to it.
    const fs::path later = dir.path / "later.txt";
    std::ofstream(later) << "/incident declare sev4 After the backup\n/quit\n";
    r = run_binary({"console", "--db", db.string()}, k_env, dir.path, later);
    REQUIRE(has(r.out, "INC-3 declared"));
    r = run_binary({"restore", backup.string(), "--db", db.string()}, k_env, dir.path);
    CHECK(r.status == 0);
    CHECK(has(r.out, "the replaced database is kept as " + db.string() + ".before-restore-"));
    fs::path kept;
    for (const auto& entry : fs::directory_iterator(dir.path)) {
        if (entry.path().filename().string().starts_with("bot.db.before-restore-"))
            kept = entry.path();
    }
    REQUIRE_FALSE(kept.empty());
    CHECK(has(export_of(dir.path, kept, "INC-3", "md"), "After the backup"));
    r = run_binary({"export", "INC-3", "--db", db.string()}, k_env, dir.path);
    CHECK(r.status == 1);
    CHECK(export_of(dir.path, db, "INC-1", "md") == export_of(dir.path, fresh, "INC-1", "md"));
}

TEST_CASE("backup and restore: refusals that change nothing") {
    TempDir dir("backup-refusals");
    const fs::path db = dir.path / "bot.db";
    Run r =
        run_binary({"backup", (dir.path / "b.db").string(), "--db", db.string()}, k_env, dir.path);
    CHECK(r.status == 1);
    CHECK(has(r.err, "no database at " + db.string()));
    CHECK_FALSE(fs::exists(dir.path / "b.db"));

    const fs::path text = dir.path / "notes.txt";
    std::ofstream(text) << "this is not a database, it is a shopping list\n";
    r = run_binary({"restore", text.string(), "--db", db.string()}, k_env, dir.path);
    CHECK(r.status == 1);
    CHECK(has(r.err, text.string() + " cannot be read as a database"));
    CHECK_FALSE(fs::exists(db));

    r = run_binary({"restore", "--db", db.string()}, k_env, dir.path);
    CHECK(r.status == 2);
    CHECK(has(r.err, "restore needs a file: incident-bot restore PATH"));
}

TEST_CASE("backup and restore: evidence file contents come back with the database") {
    TempDir dir("backup-files");
    const fs::path db = dir.path / "bot.db";
    const std::string script =
        std::string(INCIDENT_BOT_SOURCE_DIR) + "/tests/e2e/incident_script.txt";
    Run r = run_binary({"console", "--db", db.string()}, k_env, dir.path, script);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    const std::string log = "2026-12-01T10:00:00Z upstream pool empty\n";
    keep_evidence(db, "screenshot.png", "image/png", k_png);
    keep_evidence(db, "pool.log", "text/plain", log);
    const std::map<std::string, std::string> expected{{"screenshot.png", k_png}, {"pool.log", log}};

    const fs::path backup = dir.path / "backup-1.db";
    r = run_binary({"backup", backup.string(), "--db", db.string()}, k_env, dir.path);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK(has(r.out, "2 evidence file(s) in " + backup.string() + ".files"));
    CHECK((fs::status(backup.string() + ".files").permissions() & fs::perms::others_read) ==
          fs::perms::none);
    // A second backup under the same name refuses before writing anything, folder included.
    r = run_binary({"backup", backup.string(), "--db", db.string()}, k_env, dir.path);
    CHECK(r.status == 1);

    // The original and its folder are gone (a lost disk): the backup alone brings them back.
    fs::remove(db);
    fs::remove_all(db.string() + ".files");
    const fs::path fresh = dir.path / "restored.db";
    r = run_binary({"restore", backup.string(), "--db", fresh.string()}, k_env, dir.path);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK_FALSE(has(r.out, "missing"));
    r = run_binary({"export", "INC-1", "--format", "bundle", "--db", fresh.string()}, k_env,
                   dir.path);
    CHECK_MESSAGE(r.status == 0, r.err);
    {
        SqliteStore store(fresh.string());
        SystemClock clock;
        IncidentService service(store, clock);
        for (const EvidenceFile& file : service.files(1)) {
            CAPTURE(file.name);
            REQUIRE(file.status == FileStatus::stored);
            CHECK(service.file_content(file) == expected.at(file.name));
        }
        check_bundle(service, 1, expected);
    }

    // Restored over a database that has evidence of its own: the replaced database is kept
    // with its contents, and the restored one has those of the backup.
    const fs::path other = dir.path / "other.db";
    r = run_binary({"console", "--db", other.string()}, k_env, dir.path, script);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    const std::string later = "taken after the backup\n";
    keep_evidence(other, "later.txt", "text/plain", later);
    r = run_binary({"restore", backup.string(), "--db", other.string()}, k_env, dir.path);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    fs::path kept;
    for (const auto& entry : fs::directory_iterator(dir.path)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with("other.db.before-restore-") && !name.ends_with(".files")) {
            kept = entry.path();
        }
    }
    REQUIRE_FALSE(kept.empty());
    {
        SqliteStore store(kept.string());
        SystemClock clock;
        IncidentService service(store, clock);
        check_bundle(service, 1, {{"later.txt", later}});
    }
    {
        SqliteStore store(other.string());
        SystemClock clock;
        IncidentService service(store, clock);
        check_bundle(service, 1, expected);
    }
}

TEST_CASE("backup and restore: a backup without the contents says which are missing") {
    TempDir dir("backup-missing");
    const fs::path db = dir.path / "bot.db";
    const std::string script =
        std::string(INCIDENT_BOT_SOURCE_DIR) + "/tests/e2e/incident_script.txt";
    Run r = run_binary({"console", "--db", db.string()}, k_env, dir.path, script);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    keep_evidence(db, "pool.log", "text/plain", "upstream pool empty\n");
    const fs::path backup = dir.path / "backup-1.db";
    r = run_binary({"backup", backup.string(), "--db", db.string()}, k_env, dir.path);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    // As a backup copied without its folder arrives.
    fs::remove_all(backup.string() + ".files");
    const fs::path fresh = dir.path / "restored.db";
    r = run_binary({"restore", backup.string(), "--db", fresh.string()}, k_env, dir.path);
    CHECK(r.status == 0);
    CHECK_MESSAGE(
        has(r.err, "1 evidence file(s) have no contents in " + backup.string() + ".files"), r.err);
}
