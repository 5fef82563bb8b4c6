#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <unistd.h>

#include "storage/migrations.hpp"
#include "storage/sqlite_store.hpp"
#include "temp_db.hpp"

using namespace incident;
using incident::testing::TempDb;

namespace {

Incident full_incident() {
    Incident incident;
    incident.number = 99;  // ignored: the store assigns numbers
    incident.title = "Checkout is down — 5xx on /pay";
    incident.severity = Severity::sev1;
    incident.final_severity = Severity::sev2;
    incident.state = State::monitoring;
    incident.platform = "slack";
    incident.channel_id = "C0123";
    incident.channel_name = "inc-1-checkout-is-down";
    incident.declared_by = {"U1", "Alice"};
    incident.declared_at = 1'700'000'000'000;
    incident.identified_at = 1'700'000'060'000;
    incident.mitigated_at = 1'700'000'120'000;
    incident.resolved_at = 1'700'000'180'000;
    incident.closed_at = 1'700'000'240'000;
    incident.last_update_at = 1'700'000'100'000;
    incident.summary = "Payment provider timeouts";
    incident.postmortem_owner = "@bob";
    incident.postmortem_due = "2026-12-01";
    incident.postmortem_published_at = 1'700'000'300'000;
    return incident;
}

Incident minimal_incident(std::string title, State state = State::investigating) {
    Incident incident;
    incident.title = std::move(title);
    incident.state = state;
    incident.platform = "console";
    incident.declared_by = {"u", "User"};
    incident.declared_at = 1000;
    incident.last_update_at = 1000;
    return incident;
}

void check_same(const Incident& a, const Incident& b) {
    CHECK(a.number == b.number);
    CHECK(a.title == b.title);
    CHECK(a.severity == b.severity);
    CHECK(a.final_severity == b.final_severity);
    CHECK(a.state == b.state);
    CHECK(a.merged_into == b.merged_into);
    CHECK(a.platform == b.platform);
    CHECK(a.channel_id == b.channel_id);
    CHECK(a.channel_name == b.channel_name);
    CHECK(a.declared_by == b.declared_by);
    CHECK(a.declared_at == b.declared_at);
    CHECK(a.identified_at == b.identified_at);
    CHECK(a.mitigated_at == b.mitigated_at);
    CHECK(a.resolved_at == b.resolved_at);
    CHECK(a.closed_at == b.closed_at);
    CHECK(a.last_update_at == b.last_update_at);
    CHECK(a.summary == b.summary);
    CHECK(a.postmortem_owner == b.postmortem_owner);
    CHECK(a.postmortem_due == b.postmortem_due);
    CHECK(a.postmortem_published_at == b.postmortem_published_at);
}

void check_same(const TimelineEntry& a, const TimelineEntry& b) {
    CHECK(a.id == b.id);
    CHECK(a.incident == b.incident);
    CHECK(a.kind == b.kind);
    CHECK(a.at == b.at);
    CHECK(a.author == b.author);
    CHECK(a.text == b.text);
    CHECK(a.message_id == b.message_id);
    CHECK(a.thread_id == b.thread_id);
    CHECK(a.key_event == b.key_event);
    CHECK(a.edited_at == b.edited_at);
    CHECK(a.deleted_at == b.deleted_at);
    CHECK(a.previous_texts == b.previous_texts);
}

void check_same(const ActionItem& a, const ActionItem& b) {
    CHECK(a.id == b.id);
    CHECK(a.incident == b.incident);
    CHECK(a.number == b.number);
    CHECK(a.text == b.text);
    CHECK(a.owner == b.owner);
    CHECK(a.due == b.due);
    CHECK(a.status == b.status);
    CHECK(a.source == b.source);
    CHECK(a.source_message_id == b.source_message_id);
    CHECK(a.author == b.author);
    CHECK(a.created_at == b.created_at);
    CHECK(a.done_at == b.done_at);
}

TimelineEntry message(std::int64_t incident, Timestamp at, std::string text,
                      std::string message_id = "") {
    TimelineEntry entry;
    entry.incident = incident;
    entry.kind = EntryKind::message;
    entry.at = at;
    entry.author = {"U2", "Bob"};
    entry.text = std::move(text);
    entry.message_id = std::move(message_id);
    return entry;
}

TimelineEntry full_entry(std::int64_t incident) {
    TimelineEntry entry;
    entry.incident = incident;
    entry.kind = EntryKind::note;
    entry.at = 1'700'000'050'000;
    entry.author = {"U2", "Bob"};
    entry.text = "rolled back deploy 4711";
    entry.message_id = "1700000050.000100";
    entry.thread_id = "1700000000.000001";
    entry.key_event = true;
    entry.edited_at = 1'700'000'055'000;
    entry.deleted_at = 1'700'000'056'000;
    entry.previous_texts = {"rolled back deploy", "rolled back deploy 4710"};
    return entry;
}

ActionItem full_action(std::int64_t incident) {
    ActionItem item;
    item.incident = incident;
    item.text = "Add a timeout alarm on the payment provider";
    item.owner = "@carol";
    item.due = "2026-12-24";
    item.status = ActionStatus::done;
    item.source = ActionSource::todo_line;
    item.source_message_id = "1700000070.000200";
    item.author = {"U3", "Carol"};
    item.created_at = 1'700'000'070'000;
    item.done_at = 1'700'000'090'000;
    return item;
}

ActionItem simple_action(std::int64_t incident, std::string text) {
    ActionItem item;
    item.incident = incident;
    item.text = std::move(text);
    item.author = {"U1", "Alice"};
    item.created_at = 5000;
    return item;
}

RoleAssignment role(Role r, std::string id, Timestamp at) {
    return {r, {id, "name-" + id}, {"U1", "Alice"}, at};
}

Subscription subscription(std::string who, std::optional<std::int64_t> incident,
                          Severity min_severity) {
    return {"slack", {std::move(who), "Someone"}, incident, min_severity};
}

// Writes one of everything; returns the incident number.
std::int64_t populate(Store& store) {
    Incident incident = full_incident();
    store.insert_incident(incident);
    store.assign_role(incident.number, role(Role::commander, "U1", 10));
    store.assign_role(incident.number, role(Role::sme, "U5", 20));
    TimelineEntry entry = full_entry(incident.number);
    store.add_entry(entry);
    ActionItem item = full_action(incident.number);
    store.add_action(item);
    store.subscribe(subscription("U9", incident.number, Severity::sev5));
    store.subscribe(subscription("U9", std::nullopt, Severity::sev2));
    store.mark_processed("slack:Ev1", "Declared INC-1", 1234);
    return incident.number;
}

}  // namespace

TEST_SUITE("sqlite store") {
    TEST_CASE("an incident keeps every field") {
        SqliteStore store(":memory:");
        Incident primary = minimal_incident("primary");
        store.insert_incident(primary);

        Incident incident = full_incident();
        incident.merged_into = primary.number;
        store.insert_incident(incident);
        CHECK(incident.number == 2);

        const auto loaded = store.incident(incident.number);
        REQUIRE(loaded);
        check_same(*loaded, incident);
        CHECK(loaded->key() == "INC-2");

        SUBCASE("optional fields come back empty") {
            const auto loaded_primary = store.incident(primary.number);
            REQUIRE(loaded_primary);
            check_same(*loaded_primary, primary);
            CHECK_FALSE(loaded_primary->final_severity);
            CHECK_FALSE(loaded_primary->merged_into);
            CHECK_FALSE(loaded_primary->postmortem_due);
            CHECK_FALSE(loaded_primary->closed_at);
        }

        SUBCASE("update rewrites every field") {
            Incident changed = *loaded;
            changed.title = "Checkout degraded";
            changed.severity = Severity::sev4;
            changed.final_severity.reset();
            changed.state = State::resolved;
            changed.merged_into.reset();
            changed.platform = "mattermost";
            changed.channel_id = "ch-9";
            changed.channel_name = "inc-2-checkout-degraded";
            changed.declared_by = {"U7", "Gina"};
            changed.declared_at = 1;
            changed.identified_at.reset();
            changed.mitigated_at = 2;
            changed.resolved_at.reset();
            changed.closed_at.reset();
            changed.last_update_at = 3;
            changed.summary = "";
            changed.postmortem_owner = "";
            changed.postmortem_due.reset();
            changed.postmortem_published_at.reset();
            store.update_incident(changed);
            const auto reloaded = store.incident(changed.number);
            REQUIRE(reloaded);
            check_same(*reloaded, changed);
        }
    }

    TEST_CASE("incidents are numbered from 1") {
        SqliteStore store(":memory:");
        CHECK_FALSE(store.incident(1));
        for (std::int64_t expected = 1; expected <= 3; ++expected) {
            Incident incident = minimal_incident("incident");
            incident.number = 42;
            store.insert_incident(incident);
            CHECK(incident.number == expected);
        }
        CHECK(store.incident(3));
        CHECK_FALSE(store.incident(4));
    }

    TEST_CASE("an incident is found by its channel") {
        SqliteStore store(":memory:");
        Incident without_channel = minimal_incident("no channel yet");
        store.insert_incident(without_channel);
        Incident slack = minimal_incident("slack one");
        slack.platform = "slack";
        slack.channel_id = "C1";
        store.insert_incident(slack);
        Incident mattermost = minimal_incident("mattermost one");
        mattermost.platform = "mattermost";
        mattermost.channel_id = "C1";
        store.insert_incident(mattermost);

        const auto found = store.incident_by_channel("slack", "C1");
        REQUIRE(found);
        CHECK(found->number == slack.number);
        CHECK(store.incident_by_channel("mattermost", "C1")->number == mattermost.number);
        CHECK_FALSE(store.incident_by_channel("slack", "C2"));
        CHECK_FALSE(store.incident_by_channel("console", ""));
    }

    TEST_CASE("the incident list hides closed and merged incidents unless asked") {
        SqliteStore store(":memory:");
        Incident investigating = minimal_incident("investigating");
        Incident resolved = minimal_incident("resolved", State::resolved);
        Incident closed = minimal_incident("closed", State::closed);
        Incident merged = minimal_incident("merged", State::merged);
        Incident monitoring = minimal_incident("monitoring", State::monitoring);
        for (Incident* incident : {&investigating, &resolved, &closed, &merged, &monitoring}) {
            store.insert_incident(*incident);
        }

        std::vector<std::string> open_titles;
        for (const Incident& incident : store.incidents(false))
            open_titles.push_back(incident.title);
        CHECK(open_titles == std::vector<std::string>{"monitoring", "resolved", "investigating"});

        std::vector<std::int64_t> all_numbers;
        for (const Incident& incident : store.incidents(true))
            all_numbers.push_back(incident.number);
        CHECK(all_numbers == std::vector<std::int64_t>{5, 4, 3, 2, 1});
    }

    TEST_CASE("merged incidents are listed under their primary in number order") {
        SqliteStore store(":memory:");
        Incident primary = minimal_incident("primary");
        store.insert_incident(primary);
        Incident other_primary = minimal_incident("other primary");
        store.insert_incident(other_primary);
        std::vector<std::int64_t> expected;
        for (int i = 0; i < 3; ++i) {
            Incident child = minimal_incident("child", State::merged);
            child.merged_into = i == 1 ? other_primary.number : primary.number;
            store.insert_incident(child);
            if (i != 1) expected.push_back(child.number);
        }

        std::vector<std::int64_t> numbers;
        for (const Incident& incident : store.merged_into(primary.number)) {
            numbers.push_back(incident.number);
        }
        CHECK(numbers == expected);
        CHECK(store.merged_into(other_primary.number).size() == 1);
        CHECK(store.merged_into(expected.front()).empty());
    }

    TEST_CASE("single roles are replaced and smes accumulate") {
        SqliteStore store(":memory:");
        Incident incident = minimal_incident("roles");
        store.insert_incident(incident);
        const std::int64_t n = incident.number;

        store.assign_role(n, role(Role::sme, "S1", 10));
        store.assign_role(n, role(Role::commander, "U1", 20));
        store.assign_role(n, role(Role::scribe, "U2", 30));
        store.assign_role(n, role(Role::sme, "S2", 40));
        store.assign_role(n, role(Role::commander, "U3", 50));  // hand-over
        store.assign_role(n, role(Role::sme, "S1", 60));        // already an sme

        const auto roles = store.roles(n);
        REQUIRE(roles.size() == 4);
        CHECK(roles[0].role == Role::commander);
        CHECK(roles[0].person == Actor{"U3", "name-U3"});
        CHECK(roles[0].assigned_by == Actor{"U1", "Alice"});
        CHECK(roles[0].assigned_at == 50);
        CHECK(roles[1].role == Role::scribe);
        CHECK(roles[1].person.id == "U2");
        CHECK(roles[2].role == Role::sme);
        CHECK(roles[2].person.id == "S1");
        CHECK(roles[2].assigned_at == 10);
        CHECK(roles[3].role == Role::sme);
        CHECK(roles[3].person.id == "S2");

        Incident other = minimal_incident("other");
        store.insert_incident(other);
        CHECK(store.roles(other.number).empty());
    }

    TEST_CASE("a timeline entry keeps every field") {
        SqliteStore store(":memory:");
        Incident incident = minimal_incident("timeline");
        store.insert_incident(incident);

        TimelineEntry entry = full_entry(incident.number);
        REQUIRE(store.add_entry(entry));
        CHECK(entry.id > 0);

        const auto timeline = store.timeline(incident.number);
        REQUIRE(timeline.size() == 1);
        check_same(timeline[0], entry);

        const auto by_message = store.entry_by_message(incident.number, entry.message_id);
        REQUIRE(by_message);
        check_same(*by_message, entry);
        CHECK_FALSE(store.entry_by_message(incident.number, "nope"));
        CHECK_FALSE(store.entry_by_message(incident.number, ""));
    }

    TEST_CASE("a message is on the timeline once") {
        SqliteStore store(":memory:");
        Incident incident = minimal_incident("dedup");
        store.insert_incident(incident);
        Incident other = minimal_incident("other");
        store.insert_incident(other);

        TimelineEntry first = message(incident.number, 100, "hello", "m1");
        CHECK(store.add_entry(first));

        TimelineEntry retry = message(incident.number, 100, "hello again", "m1");
        retry.id = -1;
        CHECK_FALSE(store.add_entry(retry));
        CHECK(retry.id == -1);
        const auto timeline = store.timeline(incident.number);
        REQUIRE(timeline.size() == 1);
        CHECK(timeline[0].text == "hello");

        // Same id in another incident, and entries without a message id, are distinct.
        TimelineEntry elsewhere = message(other.number, 100, "hello", "m1");
        CHECK(store.add_entry(elsewhere));
        TimelineEntry bot_a = message(incident.number, 200, "declared");
        TimelineEntry bot_b = message(incident.number, 200, "declared");
        CHECK(store.add_entry(bot_a));
        CHECK(store.add_entry(bot_b));
        CHECK(bot_a.id != bot_b.id);
        CHECK(store.timeline(incident.number).size() == 3);
    }

    TEST_CASE("edits and deletions keep earlier texts") {
        SqliteStore store(":memory:");
        Incident incident = minimal_incident("edits");
        store.insert_incident(incident);
        TimelineEntry entry = message(incident.number, 100, "db is slow", "m1");
        REQUIRE(store.add_entry(entry));

        TimelineEntry edited = *store.entry_by_message(incident.number, "m1");
        edited.previous_texts.push_back(edited.text);
        edited.text = "db is slow: primary at 100% cpu";
        edited.edited_at = 150;
        edited.key_event = true;
        store.update_entry(edited);

        TimelineEntry deleted = *store.entry_by_message(incident.number, "m1");
        CHECK(deleted.previous_texts == std::vector<std::string>{"db is slow"});
        deleted.previous_texts.push_back(deleted.text);
        deleted.text = "";
        deleted.deleted_at = 200;
        store.update_entry(deleted);

        const auto timeline = store.timeline(incident.number);
        REQUIRE(timeline.size() == 1);
        check_same(timeline[0], deleted);
        CHECK(timeline[0].previous_texts ==
              std::vector<std::string>{"db is slow", "db is slow: primary at 100% cpu"});
        CHECK(timeline[0].edited_at == 150);
        CHECK(timeline[0].deleted_at == 200);
        CHECK(timeline[0].key_event);
        CHECK(timeline[0].at == 100);  // edits do not move an entry

        TimelineEntry missing = deleted;
        missing.id = 9999;
        CHECK_THROWS_AS(store.update_entry(missing), std::runtime_error);
    }

    TEST_CASE("the timeline is ordered by time, then by insertion") {
        SqliteStore store(":memory:");
        Incident incident = minimal_incident("order");
        store.insert_incident(incident);
        for (auto [at, text] : std::vector<std::pair<Timestamp, std::string>>{
                 {300, "c"}, {100, "a"}, {200, "b1"}, {200, "b2"}}) {
            TimelineEntry entry = message(incident.number, at, text);
            store.add_entry(entry);
        }
        std::vector<std::string> texts;
        for (const TimelineEntry& entry : store.timeline(incident.number))
            texts.push_back(entry.text);
        CHECK(texts == std::vector<std::string>{"a", "b1", "b2", "c"});
    }

    TEST_CASE("action items are numbered per incident and keep every field") {
        SqliteStore store(":memory:");
        Incident first = minimal_incident("first");
        store.insert_incident(first);
        Incident second = minimal_incident("second");
        store.insert_incident(second);

        ActionItem a1 = simple_action(first.number, "a1");
        ActionItem b1 = simple_action(second.number, "b1");
        ActionItem a2 = full_action(first.number);
        store.add_action(a1);
        store.add_action(b1);
        store.add_action(a2);
        CHECK(a1.number == 1);
        CHECK(b1.number == 1);
        CHECK(a2.number == 2);
        CHECK(a1.id != b1.id);

        auto actions = store.actions(first.number);
        REQUIRE(actions.size() == 2);
        check_same(actions[0], a1);
        check_same(actions[1], a2);
        CHECK_FALSE(actions[0].due);
        CHECK_FALSE(actions[0].done_at);

        ActionItem changed = actions[0];
        changed.text = "a1, reworded";
        changed.owner = "@dave";
        changed.due = "2027-01-31";
        changed.status = ActionStatus::cancelled;
        changed.done_at = 9000;
        store.update_action(changed);
        check_same(store.actions(first.number)[0], changed);

        changed.id = 9999;
        CHECK_THROWS_AS(store.update_action(changed), std::runtime_error);
    }

    TEST_CASE("subscriptions are unique and can be removed") {
        SqliteStore store(":memory:");
        Incident incident = minimal_incident("subs");
        store.insert_incident(incident);

        store.subscribe(subscription("U1", std::nullopt, Severity::sev2));
        store.subscribe(subscription("U1", std::nullopt, Severity::sev2));  // again
        store.subscribe(subscription("U1", incident.number, Severity::sev5));
        store.subscribe(subscription("U1", std::nullopt, Severity::sev1));
        Subscription mattermost = subscription("U1", std::nullopt, Severity::sev2);
        mattermost.platform = "mattermost";
        store.subscribe(mattermost);

        auto subs = store.subscriptions();
        REQUIRE(subs.size() == 4);
        CHECK(subs[0].platform == "slack");
        CHECK(subs[0].who == Actor{"U1", "Someone"});
        CHECK_FALSE(subs[0].incident);
        CHECK(subs[0].min_severity == Severity::sev2);
        CHECK(subs[1].incident == incident.number);
        CHECK(subs[1].min_severity == Severity::sev5);
        CHECK(subs[3].platform == "mattermost");

        CHECK(store.unsubscribe(subscription("U1", std::nullopt, Severity::sev2)));
        CHECK_FALSE(store.unsubscribe(subscription("U1", std::nullopt, Severity::sev2)));
        CHECK_FALSE(store.unsubscribe(subscription("U2", incident.number, Severity::sev5)));
        CHECK(store.unsubscribe(subscription("U1", incident.number, Severity::sev5)));
        subs = store.subscriptions();
        REQUIRE(subs.size() == 2);
        CHECK(subs[0].min_severity == Severity::sev1);
        CHECK(subs[1].platform == "mattermost");
    }

    TEST_CASE("processed keys remember their first reply") {
        SqliteStore store(":memory:");
        CHECK_FALSE(store.processed("slack:Ev1"));
        store.mark_processed("slack:Ev1", "Declared INC-1", 1000);
        CHECK(store.processed("slack:Ev1") == "Declared INC-1");
        store.mark_processed("slack:Ev1", "something else", 2000);
        CHECK(store.processed("slack:Ev1") == "Declared INC-1");
        store.mark_processed("slack:Ev2", "", 3000);
        CHECK(store.processed("slack:Ev2") == "");
        CHECK_FALSE(store.processed("mattermost:Ev1"));
    }

    TEST_CASE("a failed transaction leaves nothing behind") {
        SqliteStore store(":memory:");
        CHECK_THROWS_WITH_AS(store.transaction([&] {
            Incident incident = minimal_incident("doomed");
            store.insert_incident(incident);
            TimelineEntry entry = message(incident.number, 100, "declared", "m1");
            store.add_entry(entry);
            store.mark_processed("slack:Ev1", "Declared INC-1", 100);
            throw std::runtime_error("chat API down");
        }),
                             "chat API down", std::runtime_error);
        CHECK(store.incidents(true).empty());
        CHECK(store.timeline(1).empty());
        CHECK_FALSE(store.processed("slack:Ev1"));

        // The store is usable afterwards and numbering is unaffected.
        Incident incident = minimal_incident("next");
        store.transaction([&] { store.insert_incident(incident); });
        CHECK(incident.number == 1);
        CHECK(store.incident(1));
    }

    TEST_CASE("nested transactions") {
        SqliteStore store(":memory:");

        SUBCASE("commit together") {
            store.transaction([&] {
                Incident outer = minimal_incident("outer");
                store.insert_incident(outer);
                store.transaction([&] {
                    Incident inner = minimal_incident("inner");
                    store.insert_incident(inner);
                });
            });
            CHECK(store.incidents(true).size() == 2);
        }

        SUBCASE("an inner failure that propagates undoes the outer work") {
            CHECK_THROWS_AS(store.transaction([&] {
                Incident outer = minimal_incident("outer");
                store.insert_incident(outer);
                store.transaction([&] {
                    TimelineEntry entry = message(outer.number, 1, "inner");
                    store.add_entry(entry);
                    throw std::runtime_error("inner failed");
                });
            }),
                            std::runtime_error);
            CHECK(store.incidents(true).empty());
            CHECK(store.timeline(1).empty());
        }

        SUBCASE("an inner failure that is handled undoes only the inner work") {
            store.transaction([&] {
                Incident outer = minimal_incident("outer");
                store.insert_incident(outer);
                try {
                    store.transaction([&] {
                        TimelineEntry entry = message(outer.number, 1, "inner");
                        store.add_entry(entry);
                        throw std::runtime_error("inner failed");
                    });
                } catch (const std::runtime_error&) {
                }
                TimelineEntry after = message(outer.number, 2, "after");
                store.add_entry(after);
            });
            REQUIRE(store.incidents(true).size() == 1);
            const auto timeline = store.timeline(1);
            REQUIRE(timeline.size() == 1);
            CHECK(timeline[0].text == "after");
        }

        // The depth counter is back at zero: a new transaction commits on its own.
        Incident later = minimal_incident("later");
        store.transaction([&] { store.insert_incident(later); });
        CHECK(store.incident(later.number));
    }

    TEST_CASE("a foreign key violation is an error") {
        SqliteStore store(":memory:");
        TimelineEntry orphan = message(42, 1, "no such incident", "m1");
        CHECK_THROWS(store.add_entry(orphan));
        ActionItem orphan_action = simple_action(42, "no such incident");
        CHECK_THROWS(store.add_action(orphan_action));
    }

    TEST_CASE("everything survives closing and reopening the database") {
        TempDb db;
        std::int64_t number = 0;
        Incident expected_incident;
        {
            SqliteStore store(db.path());
            number = populate(store);
            expected_incident = *store.incident(number);
        }
        SqliteStore store(db.path());
        CHECK(store.schema_version() == latest_schema_version());

        const auto incident = store.incident(number);
        REQUIRE(incident);
        check_same(*incident, expected_incident);
        check_same(*incident, [&] {
            Incident full = full_incident();
            full.number = number;
            return full;
        }());
        CHECK(store.incident_by_channel("slack", "C0123"));

        const auto roles = store.roles(number);
        REQUIRE(roles.size() == 2);
        CHECK(roles[0].role == Role::commander);
        CHECK(roles[1].role == Role::sme);

        const auto timeline = store.timeline(number);
        REQUIRE(timeline.size() == 1);
        TimelineEntry expected_entry = full_entry(number);
        expected_entry.id = timeline[0].id;
        check_same(timeline[0], expected_entry);

        const auto actions = store.actions(number);
        REQUIRE(actions.size() == 1);
        ActionItem expected_action = full_action(number);
        expected_action.id = actions[0].id;
        expected_action.number = 1;
        check_same(actions[0], expected_action);

        CHECK(store.subscriptions().size() == 2);
        CHECK(store.processed("slack:Ev1") == "Declared INC-1");

        // Numbering continues where it stopped.
        Incident next = minimal_incident("next");
        store.insert_incident(next);
        CHECK(next.number == number + 1);
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

    TEST_CASE("reopening applies no migration twice") {
        TempDb db;
        { SqliteStore store(db.path()); }
        { SqliteStore store(db.path()); }
        SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
        CHECK(raw.execAndGet("SELECT count(*) FROM schema_migrations").getInt() ==
              static_cast<int>(migrations().size()));
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

    TEST_CASE("a database from a newer incident-bot is refused") {
        TempDb db;
        { SqliteStore store(db.path()); }
        const int future = latest_schema_version() + 1;
        {
            SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
            raw.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                     std::to_string(future) + ", '2030-01-01T00:00:00Z')");
        }
        const std::string expected = "database schema version " + std::to_string(future) +
                                     " is newer than this incident-bot (knows up to " +
                                     std::to_string(latest_schema_version()) +
                                     "); upgrade incident-bot";
        CHECK_THROWS_WITH_AS(SqliteStore{db.path()}, expected.c_str(), std::runtime_error);
    }

    TEST_CASE("an unknown enum name names its column") {
        TempDb db;
        {
            SqliteStore store(db.path());
            populate(store);
        }
        {
            SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
            raw.exec("UPDATE incidents SET state = 'exploded'");
            raw.exec("UPDATE action_items SET source = 'telepathy'");
        }
        SqliteStore store(db.path());
        CHECK_THROWS_WITH_AS(store.incident(1), doctest::Contains("incidents.state"),
                             std::runtime_error);
        CHECK_THROWS_WITH_AS(store.actions(1), doctest::Contains("action_items.source"),
                             std::runtime_error);
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
        SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        migrate(raw, migrations().first(3));
        raw.exec(
            "INSERT INTO incidents (number, title, severity, state, platform, channel_id, "
            "channel_name, declared_by_id, declared_by_name, declared_at, last_update_at, "
            "summary, postmortem_owner) VALUES (1, 'old', 'SEV2', 'resolved', 'slack', 'C1', "
            "'inc-1-old', 'U1', 'ann', 1, 1, '', '')");
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
