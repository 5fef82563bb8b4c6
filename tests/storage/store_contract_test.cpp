#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "engines.hpp"
#include "samples.hpp"
#include "storage/migrations.hpp"

// The behaviour every Store must have, run on each engine: SQLite and a real PostgreSQL.
using namespace incident;
using namespace incident::testing;

TEST_SUITE("store contract") {
    TEST_CASE_TEMPLATE("an incident keeps every field", E, SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("incidents are numbered from 1", E, SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("an incident is found by its channel", E, SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("the incident list hides closed and merged incidents unless asked", E,
                       SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("merged incidents are listed under their primary in number order", E,
                       SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("single roles are replaced and smes accumulate", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("a timeline entry keeps every field", E, SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("a message is on the timeline once", E, SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("edits and deletions keep earlier texts", E, SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("what marked a message as a key event is kept, each mark on its own", E,
                       SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        Incident incident = minimal_incident("marks");
        store.insert_incident(incident);
        TimelineEntry pinned = message(incident.number, 100, "db is slow", "m1");
        pinned.key_event = true;
        pinned.marked_by_pin = true;
        REQUIRE(store.add_entry(pinned));
        TimelineEntry plain = message(incident.number, 110, "looking", "m2");
        REQUIRE(store.add_entry(plain));
        CHECK(store.entry_by_message(incident.number, "m1")->marked_by_pin);
        CHECK_FALSE(store.entry_by_message(incident.number, "m1")->marked_by_reaction);

        // Each combination goes in and comes back as it was.
        for (const auto& [pin, reaction] : {std::pair{true, true}, std::pair{false, true},
                                            std::pair{false, false}, std::pair{true, false}}) {
            CAPTURE(pin);
            CAPTURE(reaction);
            TimelineEntry changed = *store.entry_by_message(incident.number, "m1");
            changed.marked_by_pin = pin;
            changed.marked_by_reaction = reaction;
            changed.key_event = pin || reaction;
            store.update_entry(changed);
            check_same(*store.entry_by_message(incident.number, "m1"), changed);
            check_same(store.timeline(incident.number)[0], changed);
        }
        // The other entry is untouched.
        const auto other = store.entry_by_message(incident.number, "m2");
        CHECK_FALSE(other->marked_by_pin);
        CHECK_FALSE(other->marked_by_reaction);
        CHECK_FALSE(other->key_event);
    }

    TEST_CASE_TEMPLATE(
        "migration 12: a message marked before marks were kept counts as marked by 📌, entries "
        "the bot made and unmarked messages get no mark",
        E, SqliteEngine, PostgresEngine) {
        E engine;
        engine.migrate_to(11);
        engine.exec(
            "INSERT INTO incidents (number, title, severity, state, platform, channel_id, "
            "channel_name, declared_by_id, declared_by_name, declared_at, last_update_at, "
            "summary, postmortem_owner) VALUES (1, 'old', 'sev2', 'investigating', "
            "'mattermost', 'C1', 'inc-1-old', 'U1', 'ann', 1, 1, '', '')");
        engine.exec(
            "INSERT INTO timeline_entries (incident, kind, at, author_id, author_name, text, "
            "message_id, thread_id, key_event) VALUES "
            "(1, 'message', 10, 'U2', 'bob', 'db is slow', 'p1', '', true), "
            "(1, 'message', 20, 'U2', 'bob', 'looking', 'p2', '', false), "
            "(1, 'note', 30, 'U1', 'ann', 'paged the DBA', '', '', true)");
        const auto opened = engine.open();
        CHECK(engine.schema_version() == latest_schema_version());
        const auto timeline = opened->timeline(1);
        REQUIRE(timeline.size() == 3);
        CHECK(timeline[0].key_event);
        CHECK(timeline[0].marked_by_reaction);
        CHECK_FALSE(timeline[0].marked_by_pin);
        for (const auto& entry : {timeline[1], timeline[2]}) {
            CAPTURE(entry.text);
            CHECK_FALSE(entry.marked_by_reaction);
            CHECK_FALSE(entry.marked_by_pin);
        }
        CHECK(timeline[2].key_event);
        // Only the four readable values are accepted.
        CHECK_THROWS(engine.exec("UPDATE timeline_entries SET key_marks = 'reaction pin'"));
    }

    TEST_CASE_TEMPLATE("the timeline is ordered by time, then by insertion", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("action items are numbered per incident and keep every field", E,
                       SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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
        changed.kind = ActionKind::preventive;
        store.update_action(changed);
        check_same(store.actions(first.number)[0], changed);

        changed.id = 9999;
        CHECK_THROWS_AS(store.update_action(changed), std::runtime_error);
    }

    TEST_CASE_TEMPLATE("subscriptions are unique and can be removed", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("processed keys remember their first reply", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        CHECK_FALSE(store.processed("slack:Ev1"));
        store.mark_processed("slack:Ev1", "Declared INC-1", 1000);
        CHECK(store.processed("slack:Ev1") == "Declared INC-1");
        store.mark_processed("slack:Ev1", "something else", 2000);
        CHECK(store.processed("slack:Ev1") == "Declared INC-1");
        store.mark_processed("slack:Ev2", "", 3000);
        CHECK(store.processed("slack:Ev2") == "");
        CHECK_FALSE(store.processed("mattermost:Ev1"));
    }

    TEST_CASE_TEMPLATE("a failed transaction leaves nothing behind", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
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

    TEST_CASE_TEMPLATE("nested transactions", E, SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;

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

        // PostgreSQL sends BEGIN and SAVEPOINT with a scope's first statement: the cases
        // where that first statement fails, or never comes.
        SUBCASE("an inner scope whose first statement fails, handled, undoes only itself") {
            store.transaction([&] {
                Incident outer = minimal_incident("outer");
                store.insert_incident(outer);
                try {
                    store.transaction([&] {
                        TimelineEntry orphan = message(42, 1, "no such incident", "m1");
                        store.add_entry(orphan);
                    });
                } catch (const std::exception&) {
                }
                TimelineEntry after = message(outer.number, 2, "after");
                store.add_entry(after);
            });
            REQUIRE(store.timeline(1).size() == 1);
            CHECK(store.timeline(1)[0].text == "after");
        }

        SUBCASE("scopes that run no statement, thrown out of or not, change nothing") {
            store.transaction([] {});
            store.transaction([&] {
                store.transaction([] {});
                try {
                    store.transaction([] { throw std::runtime_error("before any statement"); });
                } catch (const std::runtime_error&) {
                }
                Incident outer = minimal_incident("outer");
                store.insert_incident(outer);
                store.transaction([] {});
            });
            CHECK_THROWS_AS(
                store.transaction([] { throw std::runtime_error("before any statement"); }),
                std::runtime_error);
            CHECK(store.incidents(true).size() == 1);
        }

        SUBCASE("a transaction whose first statement fails stores nothing") {
            CHECK_THROWS(store.transaction([&] {
                TimelineEntry orphan = message(42, 1, "no such incident", "m1");
                store.add_entry(orphan);
            }));
            CHECK(store.incidents(true).empty());
        }

        // The depth counter is back at zero: a new transaction commits on its own.
        Incident later = minimal_incident("later");
        store.transaction([&] { store.insert_incident(later); });
        CHECK(store.incident(later.number));
    }

    TEST_CASE_TEMPLATE("a foreign key violation is an error", E, SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        TimelineEntry orphan = message(42, 1, "no such incident", "m1");
        CHECK_THROWS(store.add_entry(orphan));
        ActionItem orphan_action = simple_action(42, "no such incident");
        CHECK_THROWS(store.add_action(orphan_action));
    }

    TEST_CASE_TEMPLATE("everything survives closing and reopening the database", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        std::int64_t number = 0;
        Incident expected_incident;
        {
            const auto first = engine.open();
            number = populate(*first);
            expected_incident = *first->incident(number);
        }
        const auto opened = engine.open();
        Store& store = *opened;
        CHECK(engine.schema_version() == latest_schema_version());

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

    TEST_CASE_TEMPLATE("post-mortem revisions keep every field, oldest first", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        Incident incident = minimal_incident("revisions");
        store.insert_incident(incident);
        Incident other = minimal_incident("other");
        store.insert_incident(other);

        SectionRevision first{0, incident.number,           Section::impact_customers,
                              0, "checkout | failed — 5xx", Actor{"U1", "ann"},
                              10};
        SectionRevision second{
            0, incident.number, Section::why, 2, "the pool was empty", Actor{"U2", "bob"}, 20};
        SectionRevision elsewhere{0, other.number, Section::summary, 0, "other", Actor{}, 5};
        store.add_revision(first);
        store.add_revision(elsewhere);
        store.add_revision(second);
        CHECK(first.id > 0);
        CHECK(second.id > first.id);

        const auto revisions = store.revisions(incident.number);
        REQUIRE(revisions.size() == 2);
        CHECK(revisions[0].id == first.id);
        CHECK(revisions[0].incident == incident.number);
        CHECK(revisions[0].section == Section::impact_customers);
        CHECK(revisions[0].item == 0);
        CHECK(revisions[0].text == "checkout | failed — 5xx");
        CHECK(revisions[0].author == Actor{"U1", "ann"});
        CHECK(revisions[0].at == 10);
        CHECK(revisions[1].section == Section::why);
        CHECK(revisions[1].item == 2);
        CHECK(store.revisions(other.number).size() == 1);
        CHECK(store.revisions(99).empty());
        SectionRevision orphan{0, 99, Section::summary, 0, "no incident", {}, 1};
        CHECK_THROWS(store.add_revision(orphan));  // foreign key
    }

    TEST_CASE_TEMPLATE("a database from a newer incident-bot is refused", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        engine.open();
        const int future = latest_schema_version() + 1;
        engine.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                    std::to_string(future) + ", '2030-01-01T00:00:00Z')");
        const std::string expected = "database schema version " + std::to_string(future) +
                                     " is newer than this incident-bot (knows up to " +
                                     std::to_string(latest_schema_version()) +
                                     "); upgrade incident-bot";
        CHECK_THROWS_WITH_AS(engine.open(), doctest::Contains(expected.c_str()),
                             std::runtime_error);
    }

    TEST_CASE_TEMPLATE("an unknown enum name names its column", E, SqliteEngine, PostgresEngine) {
        E engine;
        populate(*engine.open());
        engine.exec("UPDATE incidents SET state = 'exploded'");
        engine.exec("UPDATE action_items SET source = 'telepathy'");
        const auto opened = engine.open();
        CHECK_THROWS_WITH_AS(opened->incident(1), doctest::Contains("incidents.state"),
                             std::runtime_error);
        CHECK_THROWS_WITH_AS(opened->actions(1), doctest::Contains("action_items.source"),
                             std::runtime_error);
    }

    TEST_CASE_TEMPLATE("reopening applies no migration twice", E, SqliteEngine, PostgresEngine) {
        E engine;
        engine.open();
        engine.open();
        CHECK(engine.schema_version() == latest_schema_version());
        CHECK(engine.scalar("SELECT count(*) FROM schema_migrations") ==
              static_cast<std::int64_t>(migrations().size()));
    }
}  // TEST_SUITE

TEST_SUITE("store contract") {
    TEST_CASE_TEMPLATE(
        "a live message is kept per incident, platform and purpose, and survives "
        "reopening",
        E, SqliteEngine, PostgresEngine) {
        E engine;
        std::int64_t number = 0;
        {
            const auto opened = engine.open();
            Store& store = *opened;
            Incident incident = minimal_incident("live");
            store.insert_incident(incident);
            number = incident.number;
            CHECK_FALSE(store.live_message(number, "slack", "summary"));
            store.save_live_message(
                LiveMessage{number, "slack", "summary", "C1001", "1800000000.100001", "v1", 10});
            store.save_live_message(
                LiveMessage{number, "mattermost", "summary", "ch-1", "post-1", "m1", 11});
            // Saving again replaces it: the same message, shown anew.
            store.save_live_message(
                LiveMessage{number, "slack", "summary", "C1001", "1800000000.100001", "v2 ✅", 12});
        }
        const auto reopened = engine.open();
        const auto slack = reopened->live_message(number, "slack", "summary");
        REQUIRE(slack);
        CHECK(slack->incident == number);
        CHECK(slack->platform == "slack");
        CHECK(slack->purpose == "summary");
        CHECK(slack->channel_id == "C1001");
        CHECK(slack->message_id == "1800000000.100001");
        CHECK(slack->rendered == "v2 ✅");
        CHECK(slack->updated_at == 12);
        const auto mm = reopened->live_message(number, "mattermost", "summary");
        REQUIRE(mm);
        CHECK(mm->message_id == "post-1");
        CHECK(mm->rendered == "m1");
        CHECK_FALSE(reopened->live_message(number, "slack", "announcement"));
        CHECK_FALSE(reopened->live_message(number + 1, "slack", "summary"));
        CHECK(engine.scalar("SELECT count(*) FROM live_messages") == 2);
    }
}
