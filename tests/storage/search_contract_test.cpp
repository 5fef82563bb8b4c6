#include <doctest/doctest.h>

#include "engines.hpp"
#include "samples.hpp"

// Searching published post-mortems finds the same on every engine, whatever is typed.
using namespace incident;
using namespace incident::testing;

namespace {

std::vector<std::int64_t> found(Store& store, std::string_view words) {
    std::vector<std::int64_t> incidents;
    for (const auto& p : store.search_published(words)) incidents.push_back(p.incident);
    std::sort(incidents.begin(), incidents.end());
    return incidents;
}

void publish(Store& store, std::int64_t incident, const std::string& title,
             const std::string& root_cause) {
    PublishedPostmortem p;
    p.incident = incident;
    p.title = title;
    p.markdown = "# " + title;
    p.root_cause = root_cause;
    p.by = {"U1", "alice"};
    p.at = 1'000 * incident;
    store.add_published(p);
}

}  // namespace

TEST_SUITE("store contract") {
    TEST_CASE_TEMPLATE("post-mortem search takes words as prefixes and no query syntax", E,
                       SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        for (const char* title : {"Checkout down", "Search slow", "Logins failing"}) {
            Incident incident = minimal_incident(title);
            store.insert_incident(incident);
        }
        publish(store, 1, "Checkout down", "connection-pool exhausted after deploy");
        publish(store, 2, "Search slow", "an index was dropped; the pool was fine");
        publish(store, 3, "Logins failing", "certificate expired");

        CHECK(found(store, "pool") == std::vector<std::int64_t>{1, 2});
        CHECK(found(store, "conn pool") == std::vector<std::int64_t>{1});
        CHECK(found(store, "certif") == std::vector<std::int64_t>{3});
        // Punctuation separates words; quotes and operators of either engine are plain text.
        CHECK(found(store, "connection-pool") == std::vector<std::int64_t>{1});
        CHECK(found(store, "\"pool") == std::vector<std::int64_t>{1, 2});
        CHECK(found(store, "pool OR certificate") == std::vector<std::int64_t>{});
        CHECK(found(store, "pool & !index | (x) 'y':* NEAR*") == std::vector<std::int64_t>{});
        CHECK(found(store, "nothing-like-this").empty());
        // Nothing to search for: every post-mortem, newest first.
        CHECK(store.search_published("  ;; ").size() == 3);
    }
}
