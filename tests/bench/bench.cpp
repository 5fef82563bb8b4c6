// The performance targets of incident-bot, measured in one run against the real binary:
// a fake Slack on loopback speaks Socket Mode to it, exactly as Slack would.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "bot/clock.hpp"
#include "bot/incident_service.hpp"
#include "bot/postmortem.hpp"
#include "envelopes.hpp"
#include "fake_mattermost.hpp"
#include "fake_slack.hpp"
#include "run_async.hpp"
#include "storage/sqlite_store.hpp"

extern char** environ;

namespace {

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::sleep_for;
using net::testing::wait_until;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

double seconds_since(Steady::time_point start) {
    return std::chrono::duration<double>(Steady::now() - start).count();
}

// VmRSS / VmHWM of a process, in MB.
double memory_mb(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field + ":", 0) == 0)
            return std::stod(line.substr(field.size() + 1)) / 1024.0;
    }
    return -1;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

void report(const std::string& what, double value, const std::string& unit,
            const std::string& op = {}, double target = 0) {
    if (op.empty()) {
        std::printf("%-44s %12.2f %-8s\n", what.c_str(), value, unit.c_str());
        return;
    }
    const bool ok = op == ">=" ? value >= target : value <= target;
    std::printf("%-44s %12.2f %-8s target %s %-8g %s\n", what.c_str(), value, unit.c_str(),
                op.c_str(), target, ok ? "ok" : "MISSED");
}

// A loopback port free right now: Mattermost needs the bot's URL for /incident before
// the bot could say which port it took.
std::uint16_t free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(
        io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

pid_t spawn(const std::string& binary, std::vector<std::string> env_strings) {
    env_strings.push_back("PATH=/usr/bin:/bin");
    env_strings.push_back(std::string("SPDLOG_LEVEL=") +
                          (std::getenv("SPDLOG_LEVEL") ? std::getenv("SPDLOG_LEVEL") : "warn"));
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string arg0 = binary;
    char* argv[] = {arg0.data(), nullptr};
    pid_t pid = 0;
    if (posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv, envp.data()) != 0) {
        throw std::runtime_error("cannot start " + binary);
    }
    return pid;
}

// Mattermost has no acks: an event counts once its timeline entry is in the database,
// read by a second (read-only) connection, as anyone reading the bot's data would.
double measure_mattermost(const std::string& binary, int burst, const fs::path& db) {
    asio::io_context io;
    FakeMattermost fake(io.get_executor());
    const std::string alice = mm_id("alice"), bob = mm_id("bob");
    fake.users[alice] = "alice";
    fake.users[bob] = "bob";
    const std::uint16_t port = free_port();
    const std::string self = "127.0.0.1:" + std::to_string(port);
    pid_t pid = 0;
    double throughput = 0;
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            pid = spawn(binary,
                        {"MATTERMOST_URL=" + fake.url(), "MATTERMOST_TOKEN=" + fake.token,
                         "MATTERMOST_TEAM=" + fake.team_name, "INCIDENT_BOT_DB=" + db.string(),
                         "INCIDENT_BOT_LISTEN=" + self, "INCIDENT_BOT_PUBLIC_URL=http://" + self,
                         "INCIDENT_BOT_ANNOUNCE_CHANNEL=town-square"});
            if (!co_await wait_until([&] { return fake.connected(); }, milliseconds(10'000))) {
                throw std::runtime_error("the bot did not connect to Mattermost");
            }
            co_await fake.run_command(fake.town_square_id, alice, "declare sev1 Benchmark");
            std::string channel;
            co_await wait_until(
                [&] {
                    for (const auto& [id, c] : fake.channels) {
                        if (c.name.starts_with("inc-1-")) channel = id;
                    }
                    return !channel.empty();
                },
                milliseconds(10'000));
            if (channel.empty())
                throw std::runtime_error("the bot did not create the incident channel");
            co_await sleep_for(milliseconds(500));

            SQLite::Database reader(db.string(), SQLite::OPEN_READONLY);
            reader.setBusyTimeout(1000);
            SQLite::Statement newest(reader, "SELECT coalesce(max(id), 0) FROM timeline_entries");
            const auto stored = [&]() -> std::int64_t {
                newest.reset();
                newest.executeStep();
                return newest.getColumn(0).getInt64();
            };
            const std::int64_t before = stored();
            // At most `window` events in flight: the server's send queue is bounded too.
            const std::int64_t window = 2000;
            const auto started = Steady::now();
            std::int64_t published = 0;
            while (published < burst) {
                const std::int64_t done = stored() - before;
                while (published < burst && published - done < window) {
                    fake.post_message(channel, bob, "burst message " + std::to_string(published));
                    ++published;
                }
                co_await sleep_for(milliseconds(1));
            }
            co_await wait_until([&] { return stored() - before >= burst; }, milliseconds(120'000));
            const std::int64_t count = stored() - before;
            throughput = static_cast<double>(count) / seconds_since(started);
            if (count < burst)
                std::printf("(only %lld of %d Mattermost events were stored)\n",
                            static_cast<long long>(count), burst);
        },
        std::chrono::seconds(300));
    if (pid > 0) {
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
    }
    if (!finished) std::printf("(the Mattermost load phase hit its time limit)\n");
    return throughput;
}

pid_t start_bot(const std::string& binary, const FakeSlack& fake, const fs::path& db) {
    return spawn(binary, {"SLACK_BOT_TOKEN=" + fake.bot_token, "SLACK_APP_TOKEN=" + fake.app_token,
                          "SLACK_API_URL=" + fake.api_url(), "INCIDENT_BOT_DB=" + db.string(),
                          "INCIDENT_BOT_LISTEN=127.0.0.1:0"});
}

}  // namespace

int main(int argc, char** argv) {
    const std::string binary = argc > 1 ? argv[1] : INCIDENT_BOT_BINARY;
    const int burst = argc > 2 ? std::stoi(argv[2]) : 50'000;
    const fs::path dir =
        fs::temp_directory_path() / ("incident-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);

    asio::io_context io;
    FakeSlack fake(io.get_executor());
    fake.keep_acks = false;
    std::map<std::string, Steady::time_point> sent;
    std::vector<double> latencies_ms;
    bool measuring = false;
    fake.on_ack = [&](const std::string& id) {
        if (!measuring) return;
        if (const auto it = sent.find(id); it != sent.end()) {
            latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(Steady::now() - it->second).count());
            sent.erase(it);
        }
    };

    std::printf("incident-bot benchmark: %s, durable SQLite in %s\n\n", binary.c_str(),
                dir.c_str());
    pid_t pid = 0;
    double startup_ms = 0, idle_rss = 0, throughput = 0, peak_rss = 0;
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            const auto launched = Steady::now();
            pid = start_bot(binary, fake, dir / "bot.db");
            if (!co_await wait_until([&] { return fake.connected(); }, milliseconds(10'000))) {
                throw std::runtime_error("the bot did not connect");
            }
            startup_ms = seconds_since(launched) * 1000;

            fake.deliver(slash_envelope("bench-declare", "CGENERAL", "U1", "alice",
                                        "declare sev1 Benchmark"));
            co_await wait_until([&] { return fake.count("chat.postMessage") >= 2; },
                                milliseconds(10'000));
            std::string channel;
            for (const auto& [id, name] : fake.channel_names) {
                if (name.starts_with("inc-1-")) channel = id;
            }
            co_await sleep_for(milliseconds(1000));
            idle_rss = memory_mb(pid, "VmRSS");

            // Throughput: as fast as the bot acks, with at most `window` envelopes in flight
            // (a WebSocket send queue is bounded on both sides).
            const std::size_t window = 2000;
            std::vector<std::string> frames;
            frames.reserve(burst);
            for (int i = 0; i < burst; ++i) {
                const std::string ts = std::to_string(1'800'000'000 + i) + ".000100";
                frames.push_back(
                    events_envelope(
                        "T" + std::to_string(i),
                        message_event(channel, "U2", ts, "burst message " + std::to_string(i)))
                        .dump());
            }
            const auto started = Steady::now();
            const std::size_t acked_before = fake.ack_count;
            for (int i = 0; i < burst; ++i) {
                while (fake.unacked() >= window) co_await sleep_for(milliseconds(1));
                fake.deliver("env-T" + std::to_string(i), std::move(frames[i]));
            }
            co_await wait_until([&] { return fake.ack_count - acked_before >= std::size_t(burst); },
                                milliseconds(120'000));
            throughput =
                static_cast<double>(fake.ack_count - acked_before) / seconds_since(started);

            // Latency at a fixed 1,000 events/s for five seconds.
            measuring = true;
            const auto paced = Steady::now();
            for (int i = 0; i < 5000; ++i) {
                const auto due = paced + std::chrono::microseconds(1000 * i);
                if (Steady::now() < due) {
                    co_await sleep_for(
                        std::chrono::duration_cast<milliseconds>(due - Steady::now()));
                }
                const std::string id = "L" + std::to_string(i);
                const std::string ts = std::to_string(1'900'000'000 + i) + ".000100";
                sent["env-" + id] = Steady::now();
                fake.deliver(
                    events_envelope(id, message_event(channel, "U2", ts, "paced message")));
            }
            co_await wait_until([&] { return sent.empty(); }, milliseconds(20'000));
            peak_rss = memory_mb(pid, "VmHWM");
        },
        std::chrono::seconds(300));
    if (pid > 0) {
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
    }
    if (!finished) std::printf("(the load phase hit its time limit)\n");

    const double mattermost_throughput = measure_mattermost(binary, burst, dir / "mm.db");

    // Post-mortem of an incident with 100,000 timeline entries, from the database.
    double postmortem_s = 0;
    {
        SqliteStore store((dir / "pm.db").string());
        ManualClock clock(1'800'000'000'000);
        IncidentService service(store, clock);
        Incident inc =
            service.declare(Actor{"U1", "alice"}, Severity::sev1, "Big one", "bench", clock.now());
        service.bind_channel(inc.number, "bench", "C1", "inc-1-big-one");
        service.batch([&] {
            for (int i = 0; i < 100'000; ++i) {
                clock.advance(100);
                MessagePosted m{EventHeader{"E" + std::to_string(i), "bench", "C1", clock.now()},
                                "M" + std::to_string(i),
                                "",
                                Actor{"U2", "bob"},
                                i % 50 == 0 ? "TODO: follow up on item " + std::to_string(i)
                                            : "timeline line " + std::to_string(i),
                                false};
                service.handle_event(m);
            }
        });
        const auto started = Steady::now();
        const std::string md = render_postmortem(service.snapshot(inc.number));
        postmortem_s = seconds_since(started);
        std::printf("(post-mortem: %zu bytes)\n", md.size());
    }
    fs::remove_all(dir);

    std::printf("\n%-44s %12s %-8s\n", "measure", "value", "unit");
    report("start-up (exec to Socket Mode connected)", startup_ms, "ms", "<=", 100);
    report("idle RSS", idle_rss, "MB", "<=", 20);
    report("events acked per second (durable)", throughput, "ev/s", ">=", 20'000);
    report("Mattermost events stored per second (durable)", mattermost_throughput, "ev/s",
           ">=", 20'000);
    report("ack latency p50 at 1,000 ev/s", percentile(latencies_ms, 0.50), "ms", "<=", 5);
    report("ack latency p99 at 1,000 ev/s", percentile(latencies_ms, 0.99), "ms", "<=", 5);
    report("ack latency max at 1,000 ev/s", percentile(latencies_ms, 1.0), "ms");
    report("peak RSS", peak_rss, "MB");
    report("post-mortem, 100,000 timeline entries", postmortem_s * 1000, "ms", "<=", 1000);
    std::printf("(%zu latency samples)\n", latencies_ms.size());
    return 0;
}
