// Not a test: how long Slack Socket Mode takes to be back after each kind of trouble, with
// the settings the bot ships with (WebSocketOptions and SlackOptions defaults, which
// INCIDENT_BOT_SOCKET_DEAD_AFTER_SECONDS=5 gives), against the fake Slack on loopback:
//   silent drop   the flow is lost (TCP up, nothing passes, no FIN, no RST): FaultProxy
//   abrupt close  the server drops the TCP connection without a close frame
//   refresh       the server sends a `disconnect` frame (reason refresh_requested)
// Each time is from the fault to the first envelope acked on the new connection.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>

#include "adapters/slack/slack_adapter.hpp"
#include "bot/clock.hpp"
#include "bot/incident_service.hpp"
#include "commands/router.hpp"
#include "envelopes.hpp"
#include "fake_slack.hpp"
#include "fault_proxy.hpp"
#include "run_async.hpp"
#include "storage/sqlite_store.hpp"
#include "test_certs.hpp"

namespace {

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
namespace asio = boost::asio;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int k_rounds = 5;

}  // namespace

int main() {
    spdlog::set_level(spdlog::level::warn);
    asio::io_context io;
    FakeSlack fake(io.get_executor());
    FaultProxy proxy(io.get_executor(), fake.port());
    fake.socket_port = proxy.port();
    SqliteStore store(":memory:");
    SystemClock clock;
    IncidentService service(store, clock, ServiceOptions{"https://bot.example.com", {}});
    commands::CommandRouter router(service);
    commands::register_builtin_commands(router);
    Outbox outbox(store, clock);
    service.use_outbox(outbox);
    slack::SlackOptions options;  // the defaults: what the binary runs with
    options.bot_token = fake.bot_token;
    options.app_token = fake.app_token;
    options.api_url = fake.api_url();
    slack::SlackAdapter adapter(io.get_executor(), net::testing::system_client_context(), service,
                                router, outbox, options);
    adapter.start();

    struct Fault {
        const char* name;
        std::function<void()> make;
    };
    const std::vector<Fault> faults{
        {"silent drop", [&] { proxy.silence(); }},
        {"abrupt close", [&] { fake.drop(); }},
        {"refresh_requested", [&] { fake.request_refresh(); }},
    };
    std::vector<std::vector<double>> took(faults.size());
    int next_event = 0;
    bool ok = true;
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            ok =
                co_await wait_until([&] { return adapter.socket_connected(); }, milliseconds(5000));
            for (int round = 0; ok && round < k_rounds; ++round) {
                for (std::size_t f = 0; ok && f < faults.size(); ++f) {
                    const int before = fake.connections;
                    const auto start = Steady::now();
                    faults[f].make();
                    // An envelope is sent as soon as the fake sees the new connection (and
                    // one at once, which a dead connection loses and Slack redelivers).
                    const std::string first = "Ev" + std::to_string(next_event++);
                    fake.deliver(events_envelope(
                        first, message_event("CGENERAL", "U2", "1800000000.000100", "x")));
                    ok = co_await wait_until([&] { return fake.connections > before; },
                                             milliseconds(30'000));
                    const std::string second = "Ev" + std::to_string(next_event++);
                    fake.deliver(events_envelope(
                        second, message_event("CGENERAL", "U2", "1800000000.000200", "y")));
                    ok = ok && co_await wait_until(
                                   [&] {
                                       for (const auto& id : {first, second}) {
                                           const auto it = fake.acked_on.find("env-" + id);
                                           if (it != fake.acked_on.end() && it->second > before)
                                               return true;
                                       }
                                       return false;
                                   },
                                   milliseconds(30'000));
                    took[f].push_back(
                        std::chrono::duration<double, std::milli>(Steady::now() - start).count());
                    // Settled before the next fault: both envelopes acked, connected.
                    ok =
                        ok && co_await wait_until(
                                  [&] { return fake.unacked() == 0 && adapter.socket_connected(); },
                                  milliseconds(30'000));
                }
            }
        },
        milliseconds(10 * 60'000));
    adapter.stop();
    if (!finished || !ok) {
        std::printf("reconnect bench: a reconnect did not happen in time\n");
        return 1;
    }
    std::printf(
        "Slack Socket Mode, default settings, %d rounds: fault -> first envelope acked on "
        "the new connection\n",
        k_rounds);
    std::printf("| fault | median | min | max |\n|---|---|---|---|\n");
    for (std::size_t f = 0; f < faults.size(); ++f) {
        auto v = took[f];
        std::sort(v.begin(), v.end());
        std::printf("| %s | %.0f ms | %.0f ms | %.0f ms |\n", faults[f].name, v[v.size() / 2],
                    v.front(), v.back());
    }
    return 0;
}
