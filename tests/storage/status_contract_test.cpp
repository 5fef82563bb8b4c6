#include <doctest/doctest.h>

#include "engines.hpp"
#include "samples.hpp"

// The public status page's storage, on every engine: publications and component states.
using namespace incident;
using namespace incident::testing;

namespace {

StatusMessage message(std::int64_t incident, PublicState state, std::string text, Timestamp at) {
    StatusMessage m;
    m.incident = incident;
    m.state = state;
    m.text = std::move(text);
    m.by = {"U1", "Ünïcode \"comms\""};
    m.at = at;
    return m;
}

}  // namespace

TEST_SUITE("store contract") {
    TEST_CASE_TEMPLATE("status messages keep every field, by incident and by time", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        Incident a = minimal_incident("a");
        Incident b = minimal_incident("b");
        store.insert_incident(a);
        store.insert_incident(b);
        CHECK(store.status_messages(a.number).empty());
        CHECK(store.status_messages_since(0).empty());

        StatusMessage first = message(a.number, PublicState::investigating,
                                      "We see errors <b>&</b> 'quotes' — ✓", 5'000);
        StatusMessage other = message(b.number, PublicState::identified, "", 4'000);
        StatusMessage second = message(a.number, PublicState::resolved, "Fixed.", 9'000);
        store.add_status_message(first);
        store.add_status_message(other);
        store.add_status_message(second);
        CHECK(first.id > 0);
        CHECK(other.id > first.id);
        CHECK(second.id > other.id);

        const auto of_a = store.status_messages(a.number);
        REQUIRE(of_a.size() == 2);
        CHECK(of_a[0].id == first.id);
        CHECK(of_a[0].incident == a.number);
        CHECK(of_a[0].state == PublicState::investigating);
        CHECK(of_a[0].text == first.text);
        CHECK(of_a[0].by == first.by);
        CHECK(of_a[0].at == 5'000);
        CHECK(of_a[1].state == PublicState::resolved);
        CHECK(store.status_messages(b.number).at(0).text.empty());

        // By time, oldest first, from `since` on.
        const auto all = store.status_messages_since(0);
        REQUIRE(all.size() == 3);
        CHECK(all[0].id == other.id);
        CHECK(all[1].id == first.id);
        CHECK(all[2].id == second.id);
        const auto recent = store.status_messages_since(5'000);
        REQUIRE(recent.size() == 2);
        CHECK(recent[0].id == first.id);
        CHECK(store.status_messages_since(9'001).empty());

        // A rolled-back publication leaves nothing.
        CHECK_THROWS(store.transaction([&] {
            StatusMessage gone = message(a.number, PublicState::monitoring, "gone", 10'000);
            store.add_status_message(gone);
            throw std::runtime_error("abort");
        }));
        CHECK(store.status_messages(a.number).size() == 2);
        // Reopened: still there.
        const auto again = engine.open();
        CHECK(again->status_messages(a.number).size() == 2);
    }

    TEST_CASE_TEMPLATE("a component keeps only its latest status", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        Incident a = minimal_incident("a");
        store.insert_incident(a);
        CHECK(store.components().empty());
        store.set_component(
            {"Web app", ComponentStatus::major_outage, a.number, Actor{"U1", "alice"}, 1'000});
        store.set_component(
            {"API", ComponentStatus::degraded, std::nullopt, Actor{"U2", "bob"}, 2'000});
        store.set_component(
            {"Web app", ComponentStatus::partial_outage, a.number, Actor{"U3", "carol"}, 3'000});
        const auto components = store.components();
        REQUIRE(components.size() == 2);
        CHECK(components[0].name == "API");
        CHECK(components[0].status == ComponentStatus::degraded);
        CHECK_FALSE(components[0].incident);
        CHECK(components[1].name == "Web app");
        CHECK(components[1].status == ComponentStatus::partial_outage);
        CHECK(components[1].incident == a.number);
        CHECK(components[1].by == Actor{"U3", "carol"});
        CHECK(components[1].at == 3'000);
        CHECK(engine.scalar("SELECT count(*) FROM status_components") == 2);
    }

    TEST_CASE_TEMPLATE("a status page row another program wrote wrongly is an error", E,
                       SqliteEngine, PostgresEngine) {
        E engine;
        {
            const auto opened = engine.open();
            Incident a = minimal_incident("a");
            opened->insert_incident(a);
        }
        engine.exec(
            "INSERT INTO status_messages (incident, state, text, by_id, by_name, at) VALUES "
            "(1, 'on fire', 'x', 'u', 'n', 1)");
        const auto opened = engine.open();
        CHECK_THROWS_WITH_AS(opened->status_messages(1), doctest::Contains("status_messages.state"),
                             std::exception);
    }
}
