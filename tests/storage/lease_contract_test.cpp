#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engines.hpp"

// Leases on every engine: one holder at a time, renewed by asking again, taken over only
// once it has run out.
using namespace incident;
using namespace incident::testing;

TEST_SUITE("store contract") {
    TEST_CASE_TEMPLATE("a lease has one holder until it runs out", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        CHECK(store.hold_lease("reminders", "host-a", 1'000, 91'000));
        // Another replica is refused while it lasts; the holder renews it.
        CHECK_FALSE(store.hold_lease("reminders", "host-b", 2'000, 92'000));
        CHECK(store.hold_lease("reminders", "host-a", 30'000, 120'000));
        CHECK_FALSE(store.hold_lease("reminders", "host-b", 119'999, 209'999));
        // Leases are independent of each other.
        CHECK(store.hold_lease("housekeeping", "host-b", 2'000, 602'000));
        // Run out: the other replica takes it, and the first one is refused.
        CHECK(store.hold_lease("reminders", "host-b", 120'000, 210'000));
        CHECK_FALSE(store.hold_lease("reminders", "host-a", 121'000, 211'000));
        CHECK(engine.scalar("SELECT count(*) FROM leases") == 2);
    }

    TEST_CASE_TEMPLATE("replicas asking for a free lease at once get one holder", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        constexpr int k_replicas = 6;
        std::vector<std::unique_ptr<Store>> stores;
        for (int i = 0; i < k_replicas; ++i) stores.push_back(engine.open());
        std::atomic<int> holders = 0;
        std::atomic<bool> go = false;
        std::vector<std::thread> threads;
        for (int i = 0; i < k_replicas; ++i) {
            threads.emplace_back([&, i] {
                while (!go) std::this_thread::yield();
                if (stores[i]->hold_lease("housekeeping", "replica-" + std::to_string(i), 1'000,
                                          601'000)) {
                    ++holders;
                }
            });
        }
        go = true;
        for (auto& thread : threads) thread.join();
        CHECK(holders == 1);
    }
}
