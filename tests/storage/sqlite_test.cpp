#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "samples.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite_store.hpp"
#include "temp_db.hpp"

// What only the SQLite store has: its file, its journal mode, its raw migrations.
using namespace incident;
using namespace incident::testing;

TEST_SUITE("sqlite store") {
    TEST_CASE("the incident found by its channel follows updates and rollbacks") {
        SqliteStore store(":memory:");
        Incident incident = minimal_incident("first");
        store.insert_incident(incident);
        CHECK_FALSE(store.incident_by_channel("slack", "C7"));  // asked before it is bound

        incident.platform = "slack";
        incident.channel_id = "C7";
        store.update_incident(incident);
        REQUIRE(store.incident_by_channel("slack", "C7"));
        CHECK(store.incident_by_channel("slack", "C7")->title == "first");

        // Renamed inside a transaction that fails: the rename is undone, and not remembered.
        CHECK_THROWS(store.transaction([&] {
            Incident renamed = incident;
            renamed.title = "renamed";
            store.update_incident(renamed);
            CHECK(store.incident_by_channel("slack", "C7")->title == "renamed");
            throw std::runtime_error("chat API down");
        }));
        CHECK(store.incident_by_channel("slack", "C7")->title == "first");

        // A newer incident in the same channel wins.
        Incident second = minimal_incident("second");
        second.platform = "slack";
        second.channel_id = "C7";
        store.insert_incident(second);
        CHECK(store.incident_by_channel("slack", "C7")->number == second.number);
    }

    // The automatic checkpoint is replaced by a thread of the store's own (no commit waits for
    // it): the WAL must still reach the database file.
    TEST_CASE("the WAL is checkpointed into the database file by the checkpointer") {
        TempDb db;
        SqliteStore store(db.path());
        Incident incident = minimal_incident("big");
        store.insert_incident(incident);
        const auto db_size = [&] { return std::filesystem::file_size(db.path()); };
        const auto before = db_size();
        // Well past 1,000 WAL frames (4 KB pages), one commit each.
        const std::string text(2000, 'x');
        for (int i = 0; i < 2000; ++i) {
            TimelineEntry entry = message(incident.number, i, text, "m" + std::to_string(i));
            store.transaction([&] { store.add_entry(entry); });
        }
        // The commits only append to the WAL; the checkpointer copies it into the file.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (db_size() < before + 1'000'000 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        CHECK(db_size() >= before + 1'000'000);
        CHECK(store.timeline(incident.number).size() == 2000);
    }

    TEST_CASE("a file database is in WAL mode and records its migrations") {
        TempDb db;
        { SqliteStore store(db.path()); }

        SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
        CHECK(raw.execAndGet("PRAGMA journal_mode").getString() == "wal");
        CHECK(schema_version(raw) == latest_schema_version());
        CHECK(raw.execAndGet("SELECT count(*) FROM schema_migrations").getInt() ==
              static_cast<int>(migrations().size()));
        CHECK(raw.execAndGet("SELECT applied_at FROM schema_migrations WHERE version = 1")
                  .getString()
                  .size() == 20);  // 2026-11-23T10:30:18Z

        SQLite::Statement plan(
            raw,
            "EXPLAIN QUERY PLAN SELECT number FROM incidents "
            "WHERE platform = 'slack' AND channel_id = 'C1' AND channel_id <> ''");
        std::string details;
        while (plan.executeStep()) details += plan.getColumn(3).getString() + "\n";
        CHECK(details.find("incidents_by_channel") != std::string::npos);
    }

    TEST_CASE("only missing migrations are applied") {
        SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        // Not idempotent on purpose: running v1 twice would fail.
        const std::vector<Migration> v1{{1, "one", "CREATE TABLE a (x INTEGER)"}};
        const std::vector<Migration> v2{{1, "one", "CREATE TABLE a (x INTEGER)"},
                                        {2, "two", "CREATE TABLE b (y INTEGER)"}};
        CHECK(schema_version(db) == 0);
        migrate(db, v1);
        CHECK(schema_version(db) == 1);
        migrate(db, v2);
        CHECK(schema_version(db) == 2);
        CHECK(db.tableExists("b"));

        SUBCASE("a failing migration leaves the previous version") {
            const std::vector<Migration> broken{v2[0], v2[1], {3, "three", "CREATE TABLE a (z)"}};
            CHECK_THROWS(migrate(db, broken));
            CHECK(schema_version(db) == 2);
        }
        SUBCASE("versions must increase") {
            const std::vector<Migration> unordered{v2[1], v2[0]};
            CHECK_THROWS_AS(migrate(db, unordered), std::logic_error);
        }
    }

    TEST_CASE("an unusable database file is reported with its path") {
        TempDb db;
        {
            std::FILE* file = std::fopen(db.path().c_str(), "wb");
            REQUIRE(file);
            std::fputs("this is not a database, just some text that is long enough", file);
            std::fclose(file);
        }
        CHECK_THROWS_WITH_AS(SqliteStore{db.path()}, doctest::Contains(db.path().c_str()),
                             std::runtime_error);
    }

}  // TEST_SUITE

namespace {

// A database of schema `version` holding incident 1 as an older incident-bot stored it, in
// the columns every schema has.
SQLite::Database old_database(const std::string& path, std::size_t version,
                              const std::string& state) {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    migrate(raw, migrations().first(version));
    SQLite::Statement insert(
        raw,
        "INSERT INTO incidents (number, title, severity, state, platform, channel_id, "
        "channel_name, declared_by_id, declared_by_name, declared_at, last_update_at, summary, "
        "postmortem_owner) VALUES (1, 'old', 'SEV2', ?, 'slack', 'C1', 'inc-1-old', 'U1', 'ann', "
        "1, 1, '', '')");
    insert.bind(1, state);
    insert.exec();
    return raw;
}

}  // namespace

TEST_CASE("a database of schema 2 gains contributing factors and keeps its incidents") {
    TempDb db;
    {
        SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        migrate(raw, migrations().first(2));
    }
    {
        SqliteStore store(db.path());
        CHECK(store.schema_version() == latest_schema_version());
        Incident incident = minimal_incident("before the upgrade");
        store.insert_incident(incident);
        ContributingFactor factor{0,
                                  incident.number,
                                  FactorCategory::monitoring,
                                  "alert threshold at 99% | too high",
                                  Actor{"U1", "ann"},
                                  42};
        store.add_factor(factor);
        CHECK(factor.id == 1);
    }
    SqliteStore store(db.path());
    const auto factors = store.factors(1);
    REQUIRE(factors.size() == 1);
    CHECK(factors[0].category == FactorCategory::monitoring);
    CHECK(factors[0].text == "alert threshold at 99% | too high");
    CHECK(factors[0].author.name == "ann");
    CHECK(factors[0].at == 42);
    CHECK(store.factors(2).empty());
    ContributingFactor orphan{0, 99, FactorCategory::process, "no incident", Actor{}, 1};
    CHECK_THROWS(store.add_factor(orphan));  // foreign key
}

TEST_CASE("a database of schema 3 gains post-mortem sections, its action items corrective") {
    TempDb db;
    {
        SQLite::Database raw = old_database(db.path(), 3, "resolved");
        raw.exec(
            "INSERT INTO action_items (incident, number, text, owner, status, source, "
            "source_message_id, author_id, author_name, created_at) VALUES (1, 1, 'fix it', "
            "'@ann', 'open', 'command', '', 'U1', 'ann', 2)");
    }
    SqliteStore store(db.path());
    CHECK(store.schema_version() == latest_schema_version());
    const auto items = store.actions(1);
    REQUIRE(items.size() == 1);
    CHECK(items[0].kind == ActionKind::corrective);

    ActionItem preventive;
    preventive.incident = 1;
    preventive.text = "runbook for pool sizes";
    preventive.kind = ActionKind::preventive;
    store.add_action(preventive);
    CHECK(preventive.number == 2);
    CHECK(store.actions(1)[1].kind == ActionKind::preventive);

    SectionRevision first{0, 1, Section::impact_customers, 0, "checkout | failed", {"U1", "ann"},
                          10};
    SectionRevision second{0, 1, Section::why, 2, "the pool was empty", {"U2", "bob"}, 20};
    store.add_revision(first);
    store.add_revision(second);
    CHECK(first.id == 1);
    CHECK(second.id == 2);
    const auto revisions = store.revisions(1);
    REQUIRE(revisions.size() == 2);
    CHECK(revisions[0].section == Section::impact_customers);
    CHECK(revisions[0].text == "checkout | failed");
    CHECK(revisions[0].author == Actor{"U1", "ann"});
    CHECK(revisions[0].at == 10);
    CHECK(revisions[1].section == Section::why);
    CHECK(revisions[1].item == 2);
    CHECK(store.revisions(2).empty());
    SectionRevision orphan{0, 99, Section::summary, 0, "no incident", {}, 1};
    CHECK_THROWS(store.add_revision(orphan));  // foreign key
}

TEST_CASE("a database of schema 12 keeps its key event marks and revisions through 13") {
    TempDb db;
    {
        SQLite::Database raw = old_database(db.path(), 12, "investigating");
        raw.exec(
            "INSERT INTO timeline_entries (id, incident, kind, at, author_id, author_name, text, "
            "message_id, thread_id, key_event, key_marks) VALUES "
            "(7, 1, 'message', 10, 'U1', 'ann', 'pinned and edited', 'm1', '', 1, 'pin reaction'),"
            "(8, 1, 'message', 11, 'U2', 'bob', 'plain', 'm2', '', 0, '')");
        raw.exec("INSERT INTO entry_revisions (entry_id, seq, text) VALUES (7, 0, 'first words')");
    }
    SqliteStore store(db.path());
    CHECK(store.schema_version() == latest_schema_version());
    const auto entries = store.timeline(1);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].id == 7);
    CHECK(entries[0].marked_by_pin);
    CHECK(entries[0].marked_by_reaction);
    CHECK(entries[0].previous_texts == std::vector<std::string>{"first words"});
    CHECK(entries[1].id == 8);
    CHECK_FALSE(entries[1].marked_by_pin);
    CHECK_FALSE(entries[1].marked_by_reaction);

    SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
    // The constraint still holds after the column moved.
    CHECK_THROWS(raw.exec("UPDATE timeline_entries SET key_marks = 'starred' WHERE id = 8"));
    // And an insert checks it without building a temporary b-tree each time.
    SQLite::Statement plan(raw,
                           "EXPLAIN INSERT INTO timeline_entries (incident, kind, at, author_id, "
                           "author_name, text, message_id, thread_id, key_event, key_marks) "
                           "VALUES (1, 'message', 12, 'U1', 'ann', 'x', 'm3', '', 0, 'pin') "
                           "ON CONFLICT DO NOTHING");
    int ephemeral = 0;
    while (plan.executeStep()) ephemeral += plan.getColumn(1).getString() == "OpenEphemeral";
    CHECK(ephemeral == 0);
}
