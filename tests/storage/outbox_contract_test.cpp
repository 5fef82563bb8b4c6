#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engines.hpp"
#include "samples.hpp"

// The outbox on every engine: entries keep what delivery needs, replicas claim them one at a
// time or the heads of the lanes in batches, and housekeeping removes only what is done and
// old.
using namespace incident;
using namespace incident::testing;

namespace {

OutboxEntry sample_entry(std::int64_t incident, const std::string& kind, Timestamp at) {
    OutboxEntry e;
    e.sink = "slack";
    e.incident = incident;
    e.kind = kind;
    e.payload = R"({"effect":"post","text":"ä | \"q\""})";
    e.result = "{}";
    e.created_at = at;
    e.next_attempt_at = at;
    return e;
}

}  // namespace

TEST_SUITE("store contract") {
    TEST_CASE_TEMPLATE("an outbox entry keeps every field and its outcome", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        OutboxEntry entry = sample_entry(3, "post", 1'000);
        store.add_outbox(entry);
        REQUIRE(entry.id > 0);
        auto loaded = store.outbox_entry(entry.id);
        REQUIRE(loaded);
        CHECK(loaded->sink == "slack");
        CHECK(loaded->incident == 3);
        CHECK(loaded->payload == entry.payload);
        CHECK(loaded->status == OutboxStatus::pending);
        CHECK_FALSE(loaded->done_at);
        CHECK_FALSE(loaded->claimed_until);

        loaded->status = OutboxStatus::failed;
        loaded->attempts = 2;
        loaded->result = R"({"channel":"C1"})";
        loaded->error = "chat.postMessage: channel_not_found";
        loaded->done_at = 5'000;
        store.update_outbox(*loaded);
        const auto failed = store.outbox_entries("", OutboxStatus::failed, 0, true);
        REQUIRE(failed.size() == 1);
        CHECK(failed[0].attempts == 2);
        CHECK(failed[0].result == R"({"channel":"C1"})");
        CHECK(failed[0].error == "chat.postMessage: channel_not_found");
        CHECK(failed[0].done_at == 5'000);
        CHECK(store.outbox_entries("slack", OutboxStatus::pending, 0, false).empty());

        const OutboxCounts counts = store.outbox_counts();
        CHECK(counts.pending == 0);
        REQUIRE(counts.failed.size() == 1);
        CHECK(counts.failed[0].kind == "post");
        CHECK(counts.failed_total() == 1);

        OutboxEntry missing = *loaded;
        missing.id = entry.id + 100;
        CHECK_THROWS(store.update_outbox(missing));
    }

    TEST_CASE_TEMPLATE("pending entries come oldest first, newest first on request, limited", E,
                       SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        std::vector<std::int64_t> ids;
        for (int i = 0; i < 4; ++i) {
            OutboxEntry e = sample_entry(1, "post", 1'000 + i);
            if (i == 2) e.sink = "mattermost";
            store.add_outbox(e);
            ids.push_back(e.id);
        }
        const auto slack = store.outbox_entries("slack", OutboxStatus::pending, 0, false);
        REQUIRE(slack.size() == 3);
        CHECK(slack[0].id == ids[0]);
        CHECK(slack[2].id == ids[3]);
        const auto newest = store.outbox_entries("", OutboxStatus::pending, 2, true);
        REQUIRE(newest.size() == 2);
        CHECK(newest[0].id == ids[3]);
        CHECK(newest[1].id == ids[2]);
        const OutboxCounts counts = store.outbox_counts();
        CHECK(counts.pending == 4);
        CHECK(counts.oldest_pending == 1'000);
    }

    TEST_CASE_TEMPLATE("a claim holds an entry for one owner until it runs out", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        OutboxEntry entry = sample_entry(1, "create_channel", 1'000);
        store.add_outbox(entry);
        CHECK(store.claim_outbox(entry.id, "host-a", 1'000, 121'000));
        // Another replica cannot take it while the claim lasts.
        CHECK_FALSE(store.claim_outbox(entry.id, "host-b", 2'000, 122'000));
        // The same owner (a restarted replica) takes it back at once.
        CHECK(store.claim_outbox(entry.id, "host-a", 3'000, 123'000));
        const auto held = store.outbox_entry(entry.id);
        REQUIRE(held);
        CHECK(held->claimed_by == "host-a");
        CHECK(held->claimed_until == 123'000);
        CHECK(held->claimed_elsewhere("host-b", 4'000));
        CHECK_FALSE(held->claimed_elsewhere("host-a", 4'000));
        // Once it runs out (its owner died mid-delivery) another replica takes over.
        CHECK(store.claim_outbox(entry.id, "host-b", 123'000, 243'000));
        // Delivered entries are no longer claimed by anybody.
        OutboxEntry done = *store.outbox_entry(entry.id);
        done.status = OutboxStatus::delivered;
        done.done_at = 130'000;
        store.update_outbox(done);
        CHECK_FALSE(store.claim_outbox(entry.id, "host-b", 300'000, 420'000));
        CHECK_FALSE(store.claim_outbox(entry.id + 1, "host-b", 300'000, 420'000));
    }

    TEST_CASE_TEMPLATE(
        "the due head of each lane is claimed at once, and taken over when it runs out", E,
        SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        OutboxEntry first = sample_entry(1, "create_channel", 1'000);
        OutboxEntry behind = sample_entry(1, "post", 1'000);
        OutboxEntry later = sample_entry(2, "post", 1'000);
        later.next_attempt_at = 50'000;  // waiting for a retry
        OutboxEntry loose = sample_entry(0, "post", 1'000);
        OutboxEntry elsewhere = sample_entry(3, "post", 1'000);
        elsewhere.sink = "mattermost";
        for (OutboxEntry* e : {&first, &behind, &later, &loose, &elsewhere}) store.add_outbox(*e);
        const auto ids = [](const std::vector<OutboxEntry>& entries) {
            std::vector<std::int64_t> out;
            for (const auto& e : entries) out.push_back(e.id);
            return out;
        };

        // Only heads, only due ones, only of the sink; oldest first, as claimed.
        const auto taken = store.claim_outbox_heads("slack", "host-a", 1'000, 121'000, 10);
        CHECK(ids(taken) == std::vector<std::int64_t>{first.id, loose.id});
        REQUIRE(taken.size() == 2);
        CHECK(taken[0].claimed_by == "host-a");
        CHECK(taken[0].claimed_until == 121'000);
        CHECK(taken[0].kind == "create_channel");
        CHECK(store.outbox_entry(loose.id)->claimed_by == "host-a");
        // Another replica gets none of them while the claims last; the owner renews them.
        CHECK(store.claim_outbox_heads("slack", "host-b", 2'000, 122'000, 10).empty());
        CHECK(ids(store.claim_outbox_heads("slack", "host-a", 2'000, 122'000, 1)) ==
              std::vector<std::int64_t>{first.id});
        CHECK(store.outbox_entry(first.id)->claimed_until == 122'000);

        // Delivered: the next entry of the lane is its head, free for anybody.
        OutboxEntry done = *store.outbox_entry(first.id);
        done.status = OutboxStatus::delivered;
        done.done_at = 3'000;
        store.update_outbox(done);
        CHECK(ids(store.claim_outbox_heads("slack", "host-b", 3'000, 123'000, 10)) ==
              std::vector<std::int64_t>{behind.id});
        // host-a died holding `loose`: once its claim ran out host-b takes it over, with the
        // entry that has become due meanwhile.
        CHECK(ids(store.claim_outbox_heads("slack", "host-b", 121'000, 241'000, 10)) ==
              std::vector<std::int64_t>{behind.id, later.id, loose.id});
        CHECK(store.outbox_entry(loose.id)->claimed_by == "host-b");
        CHECK(store.claim_outbox_heads("slack", "host-a", 130'000, 250'000, 10).empty());
        CHECK(ids(store.claim_outbox_heads("mattermost", "host-a", 130'000, 250'000, 10)) ==
              std::vector<std::int64_t>{elsewhere.id});
    }

    TEST_CASE_TEMPLATE(
        "replicas racing for the heads claim every entry exactly once, in lane order", E,
        SqliteEngine, PostgresEngine) {
        E engine;
        constexpr int k_replicas = 6;
        constexpr int k_lanes = 40;
        constexpr int k_per_lane = 5;
        std::map<std::int64_t, std::int64_t> previous_in_lane;  // id -> the one before it
        {
            const auto writer = engine.open();
            std::map<std::int64_t, std::int64_t> last;
            for (int round = 0; round < k_per_lane; ++round) {
                for (int lane = 0; lane < k_lanes; ++lane) {
                    OutboxEntry e = sample_entry(lane, "post", 1'000);
                    writer->add_outbox(e);
                    if (const auto it = last.find(lane); it != last.end())
                        previous_in_lane[e.id] = it->second;
                    last[lane] = e.id;
                }
            }
        }
        constexpr int k_total = k_lanes * k_per_lane;
        std::vector<std::unique_ptr<Store>> stores;
        for (int i = 0; i < k_replicas; ++i) stores.push_back(engine.open());
        std::mutex mutex;
        std::map<std::int64_t, std::vector<int>> claims;  // entry -> the replicas that got it
        std::vector<std::string> out_of_order;
        std::atomic<int> delivered = 0;
        std::atomic<bool> go = false;
        std::vector<std::thread> threads;
        for (int i = 0; i < k_replicas; ++i) {
            threads.emplace_back([&, i] {
                Store& store = *stores[i];
                const std::string owner = "replica-" + std::to_string(i);
                while (!go) std::this_thread::yield();
                // A head nobody can claim would keep the others looping: give up by then.
                const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
                while (delivered < k_total && std::chrono::steady_clock::now() < deadline) {
                    // Claims that last past the test: nothing is taken over, so any entry
                    // claimed twice was handed to two replicas at once.
                    for (auto& entry :
                         store.claim_outbox_heads("slack", owner, 2'000, 10'000'000, 7)) {
                        bool before_done = true;
                        if (const auto it = previous_in_lane.find(entry.id);
                            it != previous_in_lane.end()) {
                            before_done =
                                store.outbox_entry(it->second)->status == OutboxStatus::delivered;
                        }
                        {
                            std::lock_guard lock(mutex);
                            claims[entry.id].push_back(i);
                            if (!before_done) out_of_order.push_back(std::to_string(entry.id));
                        }
                        entry.status = OutboxStatus::delivered;
                        entry.done_at = 3'000;
                        store.update_outbox(entry);
                        ++delivered;
                    }
                }
            });
        }
        go = true;
        for (auto& thread : threads) thread.join();
        CHECK(claims.size() == std::size_t(k_total));
        std::set<int> claimers;
        for (const auto& [id, by] : claims) {
            CHECK_MESSAGE(by.size() == 1, "entry " << id << " claimed " << by.size() << " times");
            claimers.insert(by.begin(), by.end());
        }
        CHECK(out_of_order.empty());
        CHECK(delivered == k_total);
        CHECK(engine.scalar("SELECT count(*) FROM outbox WHERE status = 'pending'") == 0);
        MESSAGE(claimers.size() << " of " << k_replicas << " replicas delivered some");
    }

    TEST_CASE_TEMPLATE("pruning removes delivered entries and processed keys older than asked", E,
                       SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        std::vector<OutboxEntry> entries;
        for (int i = 0; i < 5; ++i) {
            OutboxEntry e = sample_entry(1, "post", 1'000);
            store.add_outbox(e);
            e.status = i < 4 ? OutboxStatus::delivered : OutboxStatus::failed;
            e.done_at = i < 3 ? 2'000 : 9'000;
            store.update_outbox(e);
            entries.push_back(e);
        }
        OutboxEntry waiting = sample_entry(2, "post", 1'000);
        store.add_outbox(waiting);
        // Three delivered before 5'000; two per call.
        CHECK(store.prune_outbox(5'000, 2) == 2);
        CHECK(store.prune_outbox(5'000, 2) == 1);
        CHECK(store.prune_outbox(5'000, 2) == 0);
        CHECK(store.outbox_entry(entries[3].id));  // delivered after the cut
        CHECK(store.outbox_entry(entries[4].id));  // failed: kept for the operator
        CHECK(store.outbox_entry(waiting.id));     // pending: not done yet

        store.transaction([&] {
            store.mark_processed("old-1", "", 1'000);
            store.mark_processed("old-2", "", 1'500);
            store.mark_processed("new", "", 9'000);
        });
        CHECK(store.prune_processed(5'000, 10) == 2);
        CHECK_FALSE(store.processed("old-1"));
        CHECK(store.processed("new"));
    }

    TEST_CASE_TEMPLATE("outbox entries written in a rolled back transaction are gone", E,
                       SqliteEngine, PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        CHECK_THROWS(store.transaction([&] {
            OutboxEntry e = sample_entry(1, "post", 1'000);
            store.add_outbox(e);
            throw std::runtime_error("the change failed");
        }));
        CHECK(store.outbox_counts().pending == 0);
    }
}
