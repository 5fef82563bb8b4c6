#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bot/clock.hpp"
#include "bot/incident_service.hpp"
#include "commands/router.hpp"
#include "pg_server.hpp"
#include "samples.hpp"
#include "storage/migrations.hpp"
#include "storage/postgres_migrations.hpp"
#include "storage/postgres_store.hpp"
#include "storage/pq.hpp"

// What only PostgreSQL has to get right: several processes (here: connections) on one
// database at once, and a server that goes away and comes back.
using namespace incident;
using namespace incident::testing;

namespace {

std::int64_t scalar(const std::string& conninfo, const std::string& sql) {
    pq::Connection db(conninfo);
    return db.exec(sql).int64(0, 0);
}

// Polls until some backend waits on an advisory lock, or a deadline passes.
bool someone_waits_on_an_advisory_lock(const std::string& conninfo) {
    pq::Connection db(conninfo);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        if (db.exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                .int64(0, 0) > 0) {
            return true;
        }
        std::this_thread::yield();
    }
    return false;
}

// One replica of the bot's domain on its own connection.
struct Replica {
    explicit Replica(const std::string& conninfo) : store(conninfo) {
        commands::register_builtin_commands(router);
    }
    PostgresStore store;
    ManualClock clock{1'795'428'000'000};
    IncidentService service{store, clock, ServiceOptions{"https://bot.example.com", {}}};
    commands::CommandRouter router{service};

    Outcome declare(const std::string& request_id, const std::string& title) {
        return router.dispatch(CommandRequest{request_id, "slack", "C-general", "general",
                                              Actor{"U1", "alice"}, "declare sev2 " + title,
                                              clock.now()});
    }
};

}  // namespace

TEST_SUITE("postgres store") {
    TEST_CASE("the PostgreSQL migrations have the versions and names of the SQLite ones") {
        const auto sqlite = migrations();
        const auto postgres = postgres_migrations();
        REQUIRE(postgres.size() == sqlite.size());
        for (std::size_t i = 0; i < sqlite.size(); ++i) {
            CAPTURE(i);
            CHECK(postgres[i].version == sqlite[i].version);
            CHECK(postgres[i].name == sqlite[i].name);
            CHECK_FALSE(postgres[i].sql.empty());
        }
    }

    TEST_CASE("replicas starting together migrate once") {
        PgDatabase db;
        constexpr int k_replicas = 6;
        std::latch go(k_replicas);
        std::vector<std::string> errors(k_replicas);
        std::vector<std::thread> threads;
        for (int i = 0; i < k_replicas; ++i) {
            threads.emplace_back([&, i] {
                go.arrive_and_wait();
                try {
                    PostgresStore store(db.conninfo());
                } catch (const std::exception& e) {
                    errors[i] = e.what();
                }
            });
        }
        for (auto& thread : threads) thread.join();
        for (const auto& error : errors) CHECK(error == "");
        CHECK(scalar(db.conninfo(), "SELECT count(*) FROM schema_migrations") ==
              static_cast<std::int64_t>(postgres_migrations().size()));
        CHECK(PostgresStore(db.conninfo()).schema_version() == latest_schema_version());
    }

    TEST_CASE("a declare waits for one in flight on another replica and takes the next number") {
        PgDatabase db;
        PostgresStore first(db.conninfo());
        PostgresStore second(db.conninfo());
        std::latch inserted(1);
        std::latch may_commit(1);
        Incident a = minimal_incident("first");
        Incident b = minimal_incident("second");
        std::thread one([&] {
            first.transaction([&] {
                first.insert_incident(a);
                inserted.count_down();
                may_commit.wait();
            });
        });
        inserted.wait();
        std::thread two([&] { second.transaction([&] { second.insert_incident(b); }); });
        // The second declare is blocked on the first one's lock, not done already.
        CHECK(someone_waits_on_an_advisory_lock(db.conninfo()));
        may_commit.count_down();
        one.join();
        two.join();
        CHECK(a.number == 1);
        CHECK(b.number == 2);
    }

    TEST_CASE("many replicas declaring at once get consecutive numbers, each once") {
        PgDatabase db;
        constexpr int k_replicas = 4;
        constexpr int k_each = 15;
        std::latch go(k_replicas);
        std::vector<std::thread> threads;
        for (int r = 0; r < k_replicas; ++r) {
            threads.emplace_back([&, r] {
                Replica replica(db.conninfo());
                go.arrive_and_wait();
                for (int i = 0; i < k_each; ++i) {
                    const std::string id = "r" + std::to_string(r) + "-" + std::to_string(i);
                    const Outcome out = replica.declare(id, "outage " + id);
                    CHECK_MESSAGE(out.reply.ok, out.reply.text);
                }
            });
        }
        for (auto& thread : threads) thread.join();
        PostgresStore store(db.conninfo());
        std::set<std::int64_t> all;
        for (const Incident& incident : store.incidents(true)) all.insert(incident.number);
        REQUIRE(all.size() == k_replicas * k_each);
        CHECK(*all.begin() == 1);
        CHECK(*all.rbegin() == k_replicas * k_each);
    }

    TEST_CASE("a declare delivered to two replicas at once makes one incident") {
        PgDatabase db;
        Replica left(db.conninfo());
        Replica right(db.conninfo());
        constexpr int k_rounds = 20;
        for (int round = 0; round < k_rounds; ++round) {
            const std::string request = "trigger-" + std::to_string(round);
            std::latch go(2);
            Outcome a, b;
            std::thread one([&] {
                go.arrive_and_wait();
                a = left.declare(request, "checkout down " + request);
            });
            std::thread two([&] {
                go.arrive_and_wait();
                b = right.declare(request, "checkout down " + request);
            });
            one.join();
            two.join();
            CAPTURE(round);
            CHECK(a.reply.ok);
            CHECK(b.reply.ok);
            // Both answer the same; exactly one of them did the work.
            CHECK(a.reply.text == b.reply.text);
            CHECK(a.duplicate != b.duplicate);
        }
        CHECK(left.store.incidents(true).size() == k_rounds);
    }

    TEST_CASE("an outbox head another replica is locking is skipped, not waited for") {
        PgDatabase db;
        PostgresStore store(db.conninfo());
        std::vector<std::int64_t> ids;
        for (std::int64_t lane = 1; lane <= 2; ++lane) {
            OutboxEntry e;
            e.sink = "slack";
            e.incident = lane;
            e.kind = "post";
            e.payload = "{}";
            e.result = "{}";
            e.created_at = 1'000;
            e.next_attempt_at = 1'000;
            store.add_outbox(e);
            ids.push_back(e.id);
        }
        // Another replica's claim of the first head, not committed yet.
        pq::Connection other(db.conninfo());
        other.exec("BEGIN");
        other.exec("SELECT id FROM outbox WHERE id = $1 FOR UPDATE", {ids[0]});
        auto claiming = std::async(std::launch::async, [&] {
            return store.claim_outbox_heads("slack", "host-a", 2'000, 122'000, 10);
        });
        const bool answered =
            claiming.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
        other.exec("ROLLBACK");
        REQUIRE(answered);
        const auto taken = claiming.get();
        REQUIRE(taken.size() == 1);
        CHECK(taken[0].id == ids[1]);
        // Left alone, it is claimed at the next look.
        const auto next = store.claim_outbox_heads("slack", "host-a", 3'000, 123'000, 10);
        REQUIRE(next.size() == 2);
        CHECK(next[0].id == ids[0]);
    }

    TEST_CASE("a lost connection fails the transaction, and the next one reconnects") {
        PgDatabase db;
        PostgresStore store(db.conninfo());
        Incident before = minimal_incident("before");
        store.insert_incident(before);
        CHECK(store.ping());

        // The server ends the store's session (as a restart or failover would).
        pq::Connection admin(db.conninfo());
        admin.exec(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND "
            "pid <> pg_backend_pid()",
            {db.name()});
        bool ran = false;
        CHECK_THROWS_AS(store.transaction([&] {
            ran = true;
            Incident lost = minimal_incident("lost");
            store.insert_incident(lost);
        }),
                        std::runtime_error);
        CHECK_FALSE(store.healthy());
        CHECK(store.last_error() != "");

        // Nothing of the failed transaction was stored; the next one works.
        Incident after = minimal_incident("after");
        store.transaction([&] { store.insert_incident(after); });
        CHECK(store.healthy());
        CHECK(after.number == 2);
        CHECK(store.incidents(true).size() == 2);
        (void)ran;
    }

    TEST_CASE("a server that is down fails calls and /healthz's ping until it is back") {
        // A server of this test's own: stopping the shared one would stop the others.
        PgServer server;
        const std::string database = server.create_database();
        PostgresStore store(server.conninfo(database));
        Incident first = minimal_incident("first");
        store.insert_incident(first);

        server.stop();
        CHECK_FALSE(store.ping());
        CHECK(store.last_error().find("PostgreSQL") != std::string::npos);
        Incident during = minimal_incident("during");
        CHECK_THROWS(store.transaction([&] { store.insert_incident(during); }));
        CHECK_THROWS(store.incidents(true));
        CHECK_FALSE(store.healthy());

        server.start();
        CHECK(store.ping());
        CHECK(store.last_error() == "");
        Incident later = minimal_incident("later");
        store.transaction([&] { store.insert_incident(later); });
        CHECK(later.number == 2);
    }

    TEST_CASE("a postgresql:// URL works, and its password never reaches an error") {
        PgDatabase db;
        PostgresStore store(PgServer::shared().tcp_url(db.name()));
        CHECK(store.schema_version() == latest_schema_version());

        const std::string secret = "s3cret-Pa55word";
        try {
            // Port 1: nothing listens, the connection is refused at once.
            PostgresStore refused("postgresql://bot:" + secret + "@127.0.0.1:1/incidents");
            FAIL("connected to port 1");
        } catch (const std::runtime_error& e) {
            const std::string message = e.what();
            CHECK(message.find("cannot connect to PostgreSQL") != std::string::npos);
            CHECK(message.find(secret) == std::string::npos);
            // libpq's hint is kept, on the same line: one error is one log line.
            CHECK(message.find("; Is the server running") != std::string::npos);
            CHECK(message.find('\n') == std::string::npos);
            CHECK(message.find('\t') == std::string::npos);
        }
        const DatabaseHealth health =
            inspect_postgres("host=127.0.0.1 port=1 user=bot password=" + secret);
        CHECK_FALSE(health.exists);
        CHECK(health.open_error.find(secret) == std::string::npos);
    }

    TEST_CASE("doctor's view of a PostgreSQL database") {
        PgDatabase db;
        DatabaseHealth fresh = inspect_postgres(db.conninfo());
        CHECK(fresh.exists);
        CHECK(fresh.open_error == "");
        CHECK(fresh.schema_version == 0);
        CHECK(fresh.write_error == "");

        populate(*std::make_unique<PostgresStore>(db.conninfo()));
        const DatabaseHealth h = inspect_postgres(db.conninfo());
        CHECK(h.schema_version == latest_schema_version());
        CHECK(h.latest_version == latest_schema_version());
        CHECK(h.incidents == 1);
        CHECK(h.bytes > 0);
        CHECK(h.write_error == "");

        // A user that may read but not write the bot's tables.
        pq::Connection admin(db.conninfo());
        admin.exec_script(
            "CREATE ROLE reader LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader");
        const DatabaseHealth reader = inspect_postgres(db.conninfo() + " user=reader");
        CHECK(reader.open_error == "");
        CHECK(reader.write_error.find("may not insert") != std::string::npos);
    }
}
