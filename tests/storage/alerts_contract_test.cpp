#include <doctest/doctest.h>

#include "engines.hpp"
#include "samples.hpp"

// Alerts from monitoring, and the detection fields of incidents, on every engine.
using namespace incident;
using namespace incident::testing;

namespace {

Alert sample_alert(std::int64_t incident, const std::string& fingerprint, Timestamp starts) {
    Alert a;
    a.incident = incident;
    a.source = "alertmanager";
    a.group_key = R"({}:{alertname="HighErrorRate"})";
    a.fingerprint = fingerprint;
    a.status = "firing";
    a.labels = {{"alertname", "HighErrorRate"}, {"severity", "critical"}, {"note", "ä | \"q\""}};
    a.annotations = {{"summary", "Checkout error rate above 5%"}};
    a.starts_at = starts;
    a.url = "http://prometheus.example.org/graph?g0.expr=x&g0.tab=1";
    a.received_at = starts + 1000;
    return a;
}

}  // namespace

TEST_SUITE("store contract") {
    TEST_CASE_TEMPLATE("an incident keeps when it was detected and what it follows", E,
                       SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        Incident first = minimal_incident("first");
        store.insert_incident(first);
        Incident second = minimal_incident("second");
        second.detected_at = 1'700'000'000'000;
        second.related_to = first.number;
        store.insert_incident(second);
        auto loaded = store.incident(second.number);
        REQUIRE(loaded);
        CHECK(loaded->detected_at == second.detected_at);
        CHECK(loaded->related_to == first.number);
        CHECK_FALSE(store.incident(first.number)->detected_at);
        loaded->detected_at.reset();
        loaded->related_to.reset();
        store.update_incident(*loaded);
        CHECK_FALSE(store.incident(second.number)->detected_at);
        CHECK_FALSE(store.incident(second.number)->related_to);
    }

    TEST_CASE_TEMPLATE("an alert is stored once and keeps every field", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        Incident incident = minimal_incident("alerts");
        store.insert_incident(incident);
        CHECK_FALSE(
            store.alert_group_incident("alertmanager", R"({}:{alertname="HighErrorRate"})"));

        Alert a = sample_alert(incident.number, "fp1", 1'700'000'000'123);
        REQUIRE(store.add_alert(a));
        CHECK(a.id > 0);
        Alert again = sample_alert(incident.number, "fp1", 1'700'000'000'123);
        CHECK_FALSE(store.add_alert(again));  // a repeat is the same alert
        Alert later = sample_alert(incident.number, "fp1", 1'700'000'600'000);
        CHECK(store.add_alert(later));  // fired again: a new alert

        auto alerts = store.alerts(incident.number);
        REQUIRE(alerts.size() == 2);
        CHECK(alerts[0].id == a.id);
        CHECK(alerts[0].source == "alertmanager");
        CHECK(alerts[0].group_key == a.group_key);
        CHECK(alerts[0].fingerprint == "fp1");
        CHECK(alerts[0].status == "firing");
        CHECK(alerts[0].labels == a.labels);
        CHECK(alerts[0].annotations == a.annotations);
        CHECK(alerts[0].starts_at == a.starts_at);
        CHECK_FALSE(alerts[0].ends_at);
        CHECK(alerts[0].url == a.url);
        CHECK(alerts[0].received_at == a.received_at);

        alerts[0].status = "resolved";
        alerts[0].ends_at = 1'700'000'300'000;
        store.update_alert(alerts[0]);
        CHECK(store.alerts(incident.number)[0].status == "resolved");
        CHECK(store.alerts(incident.number)[0].ends_at == 1'700'000'300'000);

        Incident next = minimal_incident("next");
        store.insert_incident(next);
        Alert moved = sample_alert(next.number, "fp2", 1'700'000'900'000);
        REQUIRE(store.add_alert(moved));
        CHECK(store.alert_group_incident("alertmanager", a.group_key) == next.number);
        CHECK_FALSE(store.alert_group_incident("grafana", a.group_key));
    }

    TEST_CASE_TEMPLATE("alerts written in a rolled back transaction are gone", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        Incident incident = minimal_incident("alerts");
        store.insert_incident(incident);
        CHECK_THROWS(store.transaction([&] {
            Alert a = sample_alert(incident.number, "fp1", 1);
            store.add_alert(a);
            throw std::runtime_error("storage failed");
        }));
        CHECK(store.alerts(incident.number).empty());
    }
}
