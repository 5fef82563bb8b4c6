#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include <vector>

#include "adapters/notify/reminder_timer.hpp"
#include "bot/clock.hpp"
#include "bot/reminders.hpp"
#include "commands/router.hpp"
#include "run_async.hpp"
#include "storage/sqlite_store.hpp"

using namespace incident;
using incident::net::testing::run_async;
using incident::net::testing::sleep_for;
using incident::net::testing::wait_until;
namespace asio = boost::asio;
using std::chrono::milliseconds;

TEST_CASE("reminder timer: ticks on the executor and routes each reminder once") {
    SqliteStore store(":memory:");
    ManualClock clock(1'795'428'000'000);
    IncidentService service(store, clock);
    commands::CommandRouter router(service);
    commands::register_builtin_commands(router);
    const CommandRequest declare{
        "r1",       "slack", "C0", "general", Actor{"U1", "alice"}, "declare sev2 Checkout down",
        clock.now()};
    REQUIRE(router.dispatch(declare).reply.ok);
    service.bind_channel(1, "slack", "C1", "inc-1-checkout-down");

    ReminderPolicy policy;
    policy.status_update[1] = 5 * k_second_ms;
    policy.digest_hour.reset();
    policy.tick = 20;
    ReminderService reminders(store, service, clock, policy);
    asio::io_context io;
    std::vector<Reminder> routed;
    notify::ReminderTimer timer(io.get_executor(), reminders,
                                [&](const Reminder& r) { routed.push_back(r); });
    timer.start();
    CHECK(run_async(io, [&]() -> asio::awaitable<void> {
        co_await sleep_for(milliseconds(100));
        CHECK(routed.empty());
        clock.advance(5 * k_second_ms);
        CHECK(co_await wait_until([&] { return !routed.empty(); }, milliseconds(2000)));
        co_await sleep_for(milliseconds(100));  // several more ticks
        timer.stop();
    }));
    REQUIRE(routed.size() == 1);
    CHECK(routed[0].platform == "slack");
    CHECK(std::get<ToIncident>(std::get<PostMessage>(routed[0].effect).to).number == 1);
}
