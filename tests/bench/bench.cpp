// The performance of incident-bot side by side with a Bolt-js app (tests/bench/peer), in one
// run, through the same fake Slack on loopback and under the same load, after a client that
// only acks has measured what the harness itself can do (the ceiling). Then, for the bot
// alone: the window load on each database engine (one replica on SQLite, one and three on
// PostgreSQL), a burst through a fake Mattermost and a post-mortem of 100,000 timeline
// entries.
// Not a test (CI does not run it): `./deploy/dev.sh bench`.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/http_client.hpp"
#include "bot/clock.hpp"
#include "bot/incident_service.hpp"
#include "bot/postmortem.hpp"
#include "envelopes.hpp"
#include "fake_mattermost.hpp"
#include "fake_slack.hpp"
#include "pg_server.hpp"
#include "run_async.hpp"
#include "storage/postgres_store.hpp"
#include "storage/sqlite_store.hpp"
#include "test_certs.hpp"

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

double seconds_between(Steady::time_point from, Steady::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}
double seconds_since(Steady::time_point start) {
    return seconds_between(start, Steady::now());
}

asio::awaitable<void> sleep_until(Steady::time_point due) {
    asio::steady_timer timer(co_await asio::this_coro::executor, due);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
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

// User + system CPU time of a process (all its threads) so far, in ms: /proc/<pid>/stat
// fields 14 and 15, in clock ticks.
double cpu_ms(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');  // the command name may contain spaces
    if (close == std::string::npos) return 0;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {
        if (i == 14) utime = std::stod(field);
        if (i == 15) {
            stime = std::stod(field);
            break;
        }
    }
    return (utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double cpu_ms(const std::vector<pid_t>& pids) {
    double sum = 0;
    for (const pid_t pid : pids) sum += cpu_ms(pid);
    return sum;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

pid_t spawn(std::vector<std::string> argv_strings, std::vector<std::string> env_strings) {
    env_strings.push_back("PATH=/usr/bin:/bin");
    env_strings.push_back(std::string("SPDLOG_LEVEL=") +
                          (std::getenv("SPDLOG_LEVEL") ? std::getenv("SPDLOG_LEVEL") : "warn"));
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data()) != 0) {
        throw std::runtime_error("cannot start " + argv_strings[0]);
    }
    return pid;
}

// SIGTERM to each, then SIGKILL to whatever has not exited within five seconds. Awaited on
// the loop that runs the fake servers: a bot that shuts down closes its connections with
// them, and the bots not stopped yet do not find their server gone silent (a loop blocked in
// a wait answers no ping). Each pid that has exited becomes 0, so that stop() leaves it alone.
asio::awaitable<void> stop_all(std::span<pid_t> pids) {
    for (const pid_t pid : pids) {
        if (pid > 0) ::kill(pid, SIGTERM);
    }
    const auto deadline = Steady::now() + std::chrono::seconds(5);
    for (pid_t& pid : pids) {
        while (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {
            if (Steady::now() > deadline) {
                std::printf("  (process %d did not exit within 5 s of SIGTERM: killed)\n", pid);
                ::kill(pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
                break;
            }
            co_await sleep_for(milliseconds(10));
        }
        pid = 0;
    }
}

// The same, on a loop of its own: the way out of a load that did not finish.
void stop(pid_t pid) {
    asio::io_context io;
    asio::co_spawn(io, stop_all({&pid, 1}), asio::detached);
    io.run();
}

std::optional<std::string> find_in_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        const fs::path candidate = fs::path(dir) / name;
        if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return std::nullopt;
}

// The Slack ts of load message `n`, without its fraction ".000100".
std::string message_seconds(std::uint64_t n) {
    return std::to_string(1'800'000'000 + n);
}

// One Socket Mode frame with slots for the event number, serialised once: the load
// generator splices numbers in instead of building JSON per event.
class FrameTemplate {
public:
    explicit FrameTemplate(const std::string& channel) {
        const std::string frame =
            events_envelope("B@N@", message_event(channel, "U2", "@TS@.000100",
                                                  "bench message @N@ from the load generator"))
                .dump();
        std::size_t from = 0;
        for (;;) {
            const auto n = frame.find("@N@", from), ts = frame.find("@TS@", from);
            const auto at = std::min(n, ts);
            parts_.push_back(frame.substr(from, at - from));
            if (at == std::string::npos) break;
            slots_.push_back(at == n ? Slot::number : Slot::ts);
            from = at + (at == n ? 3 : 4);
        }
    }
    std::string operator()(std::uint64_t n) const {
        const std::string number = std::to_string(n), ts = message_seconds(n);
        std::string out = parts_[0];
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            out += slots_[i] == Slot::number ? number : ts;
            out += parts_[i + 1];
        }
        return out;
    }

private:
    enum class Slot { number, ts };
    std::vector<std::string> parts_;
    std::vector<Slot> slots_;
};

struct LoadResult {
    bool ran = false;
    std::size_t sent = 0, acked = 0;
    double seconds = 0;  // first send to last ack
    double cpu_ms = 0;
    std::vector<double> latencies_ms;

    double events_per_second() const { return seconds > 0 ? double(acked) / seconds : NAN; }
    double cpu_per_1000() const { return acked ? cpu_ms * 1000.0 / double(acked) : NAN; }
};

struct SubjectResult {
    bool ran = false;
    std::string note;
    double startup_ms = NAN, idle_rss = NAN, peak_rss = NAN;
    LoadResult window, paced, burst;
};

// How to start one Socket Mode client against a fake Slack.
struct Subject {
    std::string name;
    std::function<std::vector<std::string>(const FakeSlack&)> argv;
    std::function<std::vector<std::string>(const FakeSlack&)> env;
    bool declares = false;  // the bot: wait for the incident channel it creates
};

std::vector<std::string> slack_env(const FakeSlack& fake) {
    return {"SLACK_BOT_TOKEN=" + fake.bot_token, "SLACK_APP_TOKEN=" + fake.app_token,
            "SLACK_API_URL=" + fake.api_url()};
}

// The bot's environment on `fake`: `database` is INCIDENT_BOT_DB=… or
// INCIDENT_BOT_DATABASE_URL=…, `listen` its HTTP address (also the end of its replica id).
std::vector<std::string> bot_env(const FakeSlack& fake, const std::string& database,
                                 const std::string& listen) {
    auto env = slack_env(fake);
    env.push_back(database);
    env.push_back("INCIDENT_BOT_LISTEN=" + listen);
    env.push_back("INCIDENT_BOT_ANNOUNCE_CHANNEL=general");
    return env;
}

struct Timing {
    std::chrono::milliseconds window_for{10'000};
    std::size_t window = 64;
    double paced_rate = 500;
    std::chrono::milliseconds paced_for{10'000};
    std::size_t burst = 5'000;
    std::size_t warm_up = 2'000;
};

// Drives one client (or replicas of one app) through the three load shapes, each envelope
// numbered, its send time kept so that the ack's arrival gives its latency. The CPU time is
// that of the processes `pids`.
class Driver {
public:
    Driver(FakeSlack& fake, std::vector<pid_t> pids) : fake_(fake), pids_(std::move(pids)) {
        fake_.on_ack = [this](const std::string& id) { on_ack(id); };
    }
    ~Driver() { fake_.on_ack = nullptr; }

    void set_channel(const std::string& channel) { frame_.emplace(channel); }

    // At most `window` envelopes unacked: each ack sends the next one, until `duration`.
    asio::awaitable<LoadResult> window(std::size_t window, std::chrono::milliseconds duration) {
        begin();
        refill_ = true;
        for (std::size_t i = 0; i < window; ++i) send_one();
        co_await sleep_until(started_ + duration);
        refill_ = false;
        co_return co_await finish();
    }
    // Same, `count` envelopes in all (the warm-up).
    asio::awaitable<void> window_count(std::size_t window, std::size_t count) {
        begin();
        refill_ = true;
        refill_limit_ = count;
        for (std::size_t i = 0; i < std::min(window, count); ++i) send_one();
        co_await finish();
        refill_limit_ = 0;
    }
    // One envelope every 1/rate s, whatever the acks do.
    asio::awaitable<LoadResult> paced(double rate, std::chrono::milliseconds duration) {
        begin();
        const auto count = static_cast<std::size_t>(rate * double(duration.count()) / 1000.0);
        for (std::size_t i = 0; i < count; ++i) {
            co_await sleep_until(started_ + std::chrono::microseconds(
                                                static_cast<std::int64_t>(1e6 * double(i) / rate)));
            send_one();
        }
        co_return co_await finish();
    }
    // `count` envelopes at once.
    asio::awaitable<LoadResult> burst(std::size_t count) {
        begin();
        for (std::size_t i = 0; i < count; ++i) send_one();
        co_return co_await finish();
    }

    // Envelopes sent so far, in all loads: numbers 0 to sent() - 1.
    std::uint64_t sent() const { return next_; }
    bool acked(std::uint64_t n) const { return n < acked_.size() && acked_[n]; }

private:
    void begin() {
        result_ = LoadResult{};
        result_.ran = true;
        first_ = next_;
        cpu_before_ = cpu_ms(pids_);
        started_ = last_ack_ = Steady::now();
    }
    asio::awaitable<LoadResult> finish() {
        if (!co_await wait_until([this] { return result_.acked >= result_.sent; },
                                 milliseconds(60'000))) {
            std::printf("  (only %zu of %zu envelopes were acked within 60 s)\n", result_.acked,
                        result_.sent);
        }
        result_.cpu_ms = cpu_ms(pids_) - cpu_before_;
        result_.seconds = seconds_between(started_, last_ack_);
        co_return std::move(result_);
    }
    void send_one() {
        const std::uint64_t n = next_++;
        sent_at_.push_back(Steady::now());
        acked_.push_back(false);
        ++result_.sent;
        fake_.deliver("env-B" + std::to_string(n), (*frame_)(n));
    }
    void on_ack(const std::string& id) {
        if (!id.starts_with("env-B")) return;
        const std::uint64_t n = std::strtoull(id.c_str() + 5, nullptr, 10);
        if (n < first_ || n >= next_) return;  // a late ack of an earlier load
        acked_[n] = true;
        last_ack_ = Steady::now();
        result_.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(last_ack_ - sent_at_[n]).count());
        ++result_.acked;
        if (refill_ && (refill_limit_ == 0 || result_.sent < refill_limit_)) send_one();
    }

    FakeSlack& fake_;
    std::vector<pid_t> pids_;
    std::optional<FrameTemplate> frame_;
    std::vector<Steady::time_point> sent_at_;
    std::vector<bool> acked_;
    std::uint64_t next_ = 0, first_ = 0;
    LoadResult result_;
    bool refill_ = false;
    std::size_t refill_limit_ = 0;
    double cpu_before_ = 0;
    Steady::time_point started_, last_ack_;
};

// The same first envelope for all: /incident declare. The bot creates the incident channel
// that the load then talks in; a client that does not declare gets C1001.
asio::awaitable<std::string> declare_incident(FakeSlack& fake, bool declares) {
    fake.deliver(
        slash_envelope("bench-declare", "CGENERAL", "U1", "alice", "declare sev1 Benchmark"));
    if (!co_await wait_until([&] { return fake.unacked() == 0; }, milliseconds(10'000)))
        throw std::runtime_error("it did not ack /incident declare");
    if (!declares) co_return "C1001";
    co_await wait_until([&] { return fake.count("chat.postMessage") >= 2; }, milliseconds(10'000));
    for (const auto& [id, name] : fake.channel_names) {
        if (name.starts_with("inc-1-")) co_return id;
    }
    throw std::runtime_error("the bot did not create the incident channel");
}

SubjectResult run_subject(const Subject& subject, const Timing& timing) {
    SubjectResult out;
    asio::io_context io;
    FakeSlack fake(io.get_executor());
    fake.keep_acks = false;
    pid_t pid = 0;
    std::printf("%s: running the three loads ...\n", subject.name.c_str());
    std::fflush(stdout);
    try {
        const bool finished = run_async(
            io,
            [&]() -> asio::awaitable<void> {
                const auto launched = Steady::now();
                pid = spawn(subject.argv(fake), subject.env(fake));
                if (!co_await wait_until([&] { return fake.connected(); }, milliseconds(30'000)))
                    throw std::runtime_error("it did not connect to the fake Slack");
                out.startup_ms = seconds_since(launched) * 1000;

                const std::string channel = co_await declare_incident(fake, subject.declares);
                // Settled, before any load.
                co_await sleep_for(milliseconds(1000));
                out.idle_rss = memory_mb(pid, "VmRSS");

                Driver driver(fake, {pid});
                driver.set_channel(channel);
                co_await driver.window_count(timing.window, timing.warm_up);
                out.window = co_await driver.window(timing.window, timing.window_for);
                out.paced = co_await driver.paced(timing.paced_rate, timing.paced_for);
                out.burst = co_await driver.burst(timing.burst);
                out.peak_rss = memory_mb(pid, "VmHWM");
                out.ran = true;
                co_await stop_all({&pid, 1});
            },
            std::chrono::seconds(300));
        if (!finished) out.note = "hit the time limit";
    } catch (const std::exception& e) {
        out.note = e.what();
    }
    stop(pid);
    if (!out.note.empty()) std::printf("  %s: %s\n", subject.name.c_str(), out.note.c_str());
    return out;
}

// Issue 16's benchmark: load (A) into `replicas` bots on one database (`database`:
// INCIDENT_BOT_DB=… or INCIDENT_BOT_DATABASE_URL=…), as replicas of one Slack app run: each
// holds a Socket Mode connection of its own to the one fake Slack, which spreads the window
// over them. Afterwards every acked envelope must be on INC-1's timeline (read through
// `open_store`, once the bots are stopped).
struct EngineRun {
    std::string name;
    bool ran = false;
    std::string note;     // why it did not run
    std::string failure;  // acked but not stored: the numbers do not count
    LoadResult window;
};

EngineRun run_engine(const std::string& name, const std::string& binary, int replicas,
                     const std::string& database,
                     const std::function<std::unique_ptr<Store>()>& open_store,
                     const Timing& timing) {
    EngineRun out;
    out.name = name;
    asio::io_context io;
    FakeSlack fake(io.get_executor());
    fake.keep_acks = false;
    fake.spread_over_connections = true;
    std::vector<pid_t> pids;
    std::optional<Driver> driver;
    std::printf("%s: running load (A) ...\n", name.c_str());
    std::fflush(stdout);
    try {
        const bool finished = run_async(
            io,
            [&]() -> asio::awaitable<void> {
                // One at a time, so that each has connected before the next starts.
                for (int i = 0; i < replicas; ++i) {
                    const std::string listen = "127.0.0.1:" + std::to_string(free_port());
                    pids.push_back(spawn({binary}, bot_env(fake, database, listen)));
                    if (!co_await wait_until(
                            [&] { return fake.open_connections() == std::size_t(i) + 1; },
                            milliseconds(30'000)))
                        throw std::runtime_error("replica " + std::to_string(i + 1) +
                                                 " did not connect to the fake Slack");
                }
                const std::string channel = co_await declare_incident(fake, true);
                co_await sleep_for(milliseconds(1000));  // settled, before any load
                driver.emplace(fake, pids);
                driver->set_channel(channel);
                co_await driver->window_count(timing.window, timing.warm_up);
                out.window = co_await driver->window(timing.window, timing.window_for);
                out.ran = true;
                co_await stop_all(pids);
            },
            std::chrono::seconds(300));
        if (!finished) out.note = "hit the time limit";
    } catch (const std::exception& e) {
        out.note = e.what();
    }
    for (const pid_t pid : pids) stop(pid);
    if (driver) {
        // Acked means committed: each acked message is stored, once (the unique index).
        std::set<std::string> stored;
        try {
            for (const auto& entry : open_store()->timeline(1)) {
                if (entry.kind == EntryKind::message) stored.insert(entry.message_id);
            }
        } catch (const std::exception& e) {
            out.failure = std::string("cannot read the database: ") + e.what();
        }
        std::size_t acked = 0, missing = 0;
        for (std::uint64_t n = 0; n < driver->sent(); ++n) {
            if (!driver->acked(n)) continue;
            ++acked;
            missing += !stored.count(message_seconds(n) + ".000100");
        }
        if (missing > 0 && out.failure.empty()) {
            out.failure = std::to_string(missing) + " of " + std::to_string(acked) +
                          " acked envelopes are not stored";
        }
        std::printf("  %zu envelopes acked, %zu messages stored%s\n", acked, stored.size(),
                    out.failure.empty() ? "" : (": FAILED, " + out.failure).c_str());
    }
    if (!out.note.empty()) std::printf("  %s: %s\n", name.c_str(), out.note.c_str());
    return out;
}

// One replica on SQLite, one and three on PostgreSQL (a durable server of the bench's own);
// the PostgreSQL rows are left out when it is not installed.
std::vector<EngineRun> measure_engines(const std::string& binary, const fs::path& dir,
                                       const Timing& timing) {
    std::vector<EngineRun> runs;
    const std::string sqlite = (dir / "engines.db").string();
    runs.push_back(run_engine(
        "1 replica, SQLite", binary, 1, "INCIDENT_BOT_DB=" + sqlite,
        [&]() -> std::unique_ptr<Store> { return std::make_unique<SqliteStore>(sqlite); }, timing));
    std::optional<PgServer> server;
    try {
        server.emplace(PgServer::Durability::durable);
    } catch (const std::exception& e) {
        std::printf("PostgreSQL rows left out: %s\n", e.what());
        for (const char* name : {"1 replica, PostgreSQL", "3 replicas, PostgreSQL"})
            runs.push_back(
                EngineRun{name, false, "no PostgreSQL server: " + std::string(e.what()), "", {}});
        return runs;
    }
    for (const int replicas : {1, 3}) {
        const std::string conninfo = server->conninfo(server->create_database());
        runs.push_back(run_engine(
            std::to_string(replicas) + (replicas == 1 ? " replica" : " replicas") + ", PostgreSQL",
            binary, replicas, "INCIDENT_BOT_DATABASE_URL=" + conninfo,
            [&]() -> std::unique_ptr<Store> { return std::make_unique<PostgresStore>(conninfo); },
            timing));
    }
    return runs;
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
            pid = spawn({binary},
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
            SQLite::Database reader(db.string(), SQLite::OPEN_READONLY);
            reader.setBusyTimeout(1000);
            // Posts count once the bot holds the channel as INC-1's; before, they are in no
            // incident's channel.
            SQLite::Statement bound(reader, "SELECT count(*) FROM incidents WHERE channel_id = ?");
            bound.bind(1, channel);
            const bool is_bound = co_await wait_until(
                [&] {
                    const bool yes = bound.executeStep() && bound.getColumn(0).getInt64() == 1;
                    bound.reset();  // an unfinished statement would pin the reader's snapshot
                    return yes;
                },
                milliseconds(10'000));
            if (!is_bound) throw std::runtime_error("the bot did not bind the incident channel");
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
            co_await stop_all({&pid, 1});
        },
        std::chrono::seconds(300));
    stop(pid);
    if (!finished) std::printf("(the Mattermost load phase hit its time limit)\n");
    return throughput;
}

// Alertmanager notifications at a fixed rate (issue 17: 100 per second, p99 <= 50 ms), into a
// bot on a fake Mattermost: each is answered only after it is stored, and Alertmanager waits
// for that answer. The groups cycle, so a few open incidents (channels, summaries,
// announcements through the outbox) and most add to one already open, as in an alert storm.
struct AlertLoad {
    std::vector<double> latencies_ms;
    int refused = 0;
    double cpu_per_1000 = NAN;
    double seconds = 0;
};

AlertLoad measure_alerts(const std::string& binary, const fs::path& db, double rate,
                         milliseconds load_for, int groups) {
    std::ifstream fixture(std::string(INCIDENT_BENCH_PROTOCOL_DIR) +
                          "/alertmanager/fixtures/webhook_firing.am-0.25-capture.json");
    const nlohmann::json captured = nlohmann::json::parse(fixture);
    asio::io_context io;
    FakeMattermost fake(io.get_executor());
    fake.users[mm_id("alice")] = "alice";
    const std::uint16_t port = free_port();
    const std::string self = "http://127.0.0.1:" + std::to_string(port);
    const std::string token = "bench-alerts-token";
    pid_t pid = 0;
    AlertLoad out;
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            pid = spawn({binary},
                        {"MATTERMOST_URL=" + fake.url(), "MATTERMOST_TOKEN=" + fake.token,
                         "MATTERMOST_TEAM=" + fake.team_name, "INCIDENT_BOT_DB=" + db.string(),
                         "INCIDENT_BOT_LISTEN=127.0.0.1:" + std::to_string(port),
                         "INCIDENT_BOT_PUBLIC_URL=" + self, "INCIDENT_BOT_ALERTS_TOKEN=" + token,
                         "INCIDENT_BOT_ANNOUNCE_CHANNEL=town-square"});
            if (!co_await wait_until([&] { return fake.connected(); }, milliseconds(10'000))) {
                throw std::runtime_error("the bot did not connect to Mattermost");
            }
            net::HttpClient client(io.get_executor(), net::testing::system_client_context());
            const auto total = static_cast<std::size_t>(rate * load_for.count() / 1000.0);
            std::size_t answered = 0;
            const auto send = [&](std::size_t n) -> asio::awaitable<void> {
                nlohmann::json body = captured;
                const std::string group = "bench-" + std::to_string(n % groups);
                body["groupKey"] = "{}:{alertname=\"" + group + "\"}";
                body["groupLabels"]["alertname"] = group;
                body["commonLabels"]["alertname"] = group;
                auto& alert = body["alerts"][0];
                alert["labels"]["alertname"] = group;
                alert["labels"]["instance"] = "web-" + std::to_string(n) + ":9090";
                alert["fingerprint"] = "f" + std::to_string(n);
                net::HttpRequest request;
                request.method = "POST";
                request.url = self + "/alerts/alertmanager";
                request.headers.set("Content-Type", "application/json");
                request.headers.set("Authorization", "Bearer " + token);
                request.body = body.dump();
                const auto sent = Steady::now();
                const net::HttpResponse response = co_await client.request(std::move(request));
                out.latencies_ms.push_back(seconds_since(sent) * 1000.0);
                if (response.status != 200) ++out.refused;
                ++answered;
            };
            const double cpu_before = cpu_ms(pid);
            const auto started = Steady::now();
            for (std::size_t n = 0; n < total; ++n) {
                // Open loop, as Alertmanager: a slow answer does not delay the next request.
                co_await sleep_until(
                    started + std::chrono::microseconds(static_cast<long long>(n * 1e6 / rate)));
                asio::co_spawn(io, send(n), asio::detached);
            }
            co_await wait_until([&] { return answered == total; }, milliseconds(60'000));
            out.seconds = seconds_since(started);
            out.cpu_per_1000 = (cpu_ms(pid) - cpu_before) * 1000.0 / static_cast<double>(total);
            co_await stop_all({&pid, 1});
        },
        std::chrono::seconds(180));
    stop(pid);
    if (!finished) std::printf("(the alerts load phase hit its time limit)\n");
    return out;
}

// Post-mortem of an incident with 100,000 timeline entries, from the database.
double measure_postmortem_ms(const fs::path& db) {
    SqliteStore store(db.string());
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
    const double ms = seconds_since(started) * 1000;
    std::printf("(post-mortem: %zu bytes)\n", md.size());
    return ms;
}

// The table: one row per metric, the ceiling, the bot, the peer, bot/peer and the target.
class Table {
public:
    Table(const SubjectResult& ceiling, const SubjectResult& bot, const SubjectResult& peer)
        : ceiling_(ceiling), bot_(bot), peer_(peer) {
        std::printf("\n%-34s %10s %10s %10s %9s  %s\n", "metric", "ceiling", "bot", "peer",
                    "bot/peer", "target (bot/peer)");
    }
    void section(const char* title) { std::printf("%s\n", title); }
    // `target` is a ratio bot/peer; op "<=" or ">=", empty for none.
    void row(const std::string& what, const std::function<double(const SubjectResult&)>& get,
             const char* op = "", double target = 0, const char* alternative = "") {
        const double c = ceiling_.ran ? get(ceiling_) : NAN;
        const double b = bot_.ran ? get(bot_) : NAN;
        const double p = peer_.ran ? get(peer_) : NAN;
        const double ratio = b / p;
        std::printf("  %-32s %10s %10s %10s %9s", what.c_str(), num(c).c_str(), num(b).c_str(),
                    num(p).c_str(), std::isfinite(ratio) ? num(ratio, 3).c_str() : "-");
        if (*op) {
            std::string verdict = "(no peer)";  // not counted
            if (std::isfinite(ratio)) {
                bool ok = std::string(op) == ">=" ? ratio >= target : ratio <= target;
                verdict = ok ? "ok" : "MISSED";
                // Throughput: reaching the harness ceiling is as far as this harness can tell.
                if (*alternative && !ok && std::isfinite(c) && b >= 0.9 * c) {
                    ok = true;
                    verdict = "ok (at the ceiling)";
                }
                results_.push_back(ok);
            }
            std::printf("  %s %g%s %s", op, target, alternative, verdict.c_str());
        }
        std::printf("\n");
    }
    int missed() const { return int(std::count(results_.begin(), results_.end(), false)); }

private:
    static std::string num(double v, int precision = -1) {
        if (!std::isfinite(v)) return "-";
        char buffer[32];
        if (precision < 0) precision = std::fabs(v) >= 100 ? 0 : std::fabs(v) >= 10 ? 1 : 2;
        std::snprintf(buffer, sizeof buffer, "%.*f", precision, v);
        return buffer;
    }
    const SubjectResult &ceiling_, &bot_, &peer_;
    std::vector<bool> results_;
};

void latency_rows(Table& t, LoadResult SubjectResult::*load, const char* max_op = "",
                  const char* p99_op = "") {
    t.row("ack p50 ms",
          [&](const SubjectResult& s) { return percentile((s.*load).latencies_ms, 0.5); });
    t.row(
        "ack p99 ms",
        [&](const SubjectResult& s) { return percentile((s.*load).latencies_ms, 0.99); }, p99_op,
        1);
    t.row(
        "ack max ms",
        [&](const SubjectResult& s) { return percentile((s.*load).latencies_ms, 1.0); }, max_op, 2);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string binary = argc > 1 ? argv[1] : INCIDENT_BOT_BINARY;
    const std::string acker = INCIDENT_BENCH_ACKER;
    const fs::path peer_dir = INCIDENT_BENCH_PEER_DIR;
    Timing timing;
    spdlog::set_level(spdlog::level::warn);  // the fake servers' own log lines
    // For trying the harness out quickly; quoted numbers use the default 10 s.
    if (const char* s = std::getenv("INCIDENT_BENCH_SECONDS")) {
        timing.window_for = timing.paced_for = milliseconds(std::stoi(s) * 1000);
    }
    const fs::path dir =
        fs::temp_directory_path() / ("incident-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::printf(
        "incident-bot benchmark: %s (durable SQLite in %s) against a fake Slack on loopback\n"
        "loads: (A) window of %zu unacked envelopes for %lld s, (B) %g events/s for %lld s, "
        "(C) %zu envelopes at once; %zu envelopes of warm-up first\n\n",
        binary.c_str(), dir.c_str(), timing.window,
        static_cast<long long>(timing.window_for.count() / 1000), timing.paced_rate,
        static_cast<long long>(timing.paced_for.count() / 1000), timing.burst, timing.warm_up);

    const Subject ceiling_subject{
        "ceiling (a client that only acks)",
        [&](const FakeSlack& fake) {
            return std::vector<std::string>{
                acker, "ws://127.0.0.1:" + std::to_string(fake.port()) + "/link/?ticket=acker"};
        },
        [](const FakeSlack&) { return std::vector<std::string>{}; }, false};
    const Subject bot_subject{
        "incident-bot", [&](const FakeSlack&) { return std::vector<std::string>{binary}; },
        [&](const FakeSlack& fake) {
            return bot_env(fake, "INCIDENT_BOT_DB=" + (dir / "bot.db").string(), "127.0.0.1:0");
        },
        true};

    // Which parts to run, e.g. INCIDENT_BENCH_PARTS=bot for profiling the bot alone.
    const std::string parts = std::getenv("INCIDENT_BENCH_PARTS")
                                  ? std::getenv("INCIDENT_BENCH_PARTS")
                                  : "ceiling,bot,peer,engines,mattermost,alerts,postmortem";
    const auto part = [&](const char* name) { return parts.find(name) != std::string::npos; };
    SubjectResult ceiling, bot, peer;
    if (part("ceiling")) ceiling = run_subject(ceiling_subject, timing);
    if (part("bot")) bot = run_subject(bot_subject, timing);

    const auto node = find_in_path("node");
    if (!part("peer")) {
        peer.note = "left out by INCIDENT_BENCH_PARTS";
    } else if (!node) {
        peer.note = "node is not installed";
    } else if (!fs::exists(peer_dir / "node_modules/@slack/bolt/package.json")) {
        peer.note = "@slack/bolt is not installed in " + peer_dir.string() + " (npm ci there)";
    } else {
        const Subject peer_subject{
            "peer (Bolt-js, tests/bench/peer)",
            [&](const FakeSlack&) {
                return std::vector<std::string>{*node, (peer_dir / "peer.js").string()};
            },
            [](const FakeSlack& fake) {
                auto env = slack_env(fake);
                env.push_back("NODE_ENV=production");
                return env;
            },
            false};
        peer = run_subject(peer_subject, timing);
    }
    if (!peer.ran) {
        std::printf(
            "peer: not run (%s): the bot's numbers alone; ./deploy/dev.sh bench installs "
            "node and the peer\n",
            peer.note.c_str());
    }

    const std::vector<EngineRun> engines =
        part("engines") ? measure_engines(binary, dir, timing) : std::vector<EngineRun>{};
    const double mattermost_throughput =
        part("mattermost") ? measure_mattermost(binary, 50'000, dir / "mm.db") : NAN;
    const double alert_rate = 100;
    const AlertLoad alerts =
        part("alerts") ? measure_alerts(binary, dir / "alerts.db", alert_rate, timing.paced_for, 20)
                       : AlertLoad{};
    const double postmortem_ms = part("postmortem") ? measure_postmortem_ms(dir / "pm.db") : NAN;
    fs::remove_all(dir);

    Table t(ceiling, bot, peer);
    t.section("(A) window of 64 unacked envelopes");
    t.row(
        "acked events/s", [](const SubjectResult& s) { return s.window.events_per_second(); },
        ">=", 3, " or the ceiling");
    latency_rows(t, &SubjectResult::window, "<=");
    t.row(
        "CPU ms per 1,000 events", [](const SubjectResult& s) { return s.window.cpu_per_1000(); },
        "<=", 0.1);
    t.section("(B) 500 events/s");
    t.row("acked events/s", [](const SubjectResult& s) { return s.paced.events_per_second(); });
    latency_rows(t, &SubjectResult::paced, "<=", "<=");
    t.row("CPU ms per 1,000 events", [](const SubjectResult& s) { return s.paced.cpu_per_1000(); });
    t.section("(C) burst of 5,000 envelopes");
    t.row("acked events/s", [](const SubjectResult& s) { return s.burst.events_per_second(); });
    latency_rows(t, &SubjectResult::burst);
    t.row("CPU ms per 1,000 events", [](const SubjectResult& s) { return s.burst.cpu_per_1000(); });
    t.section("memory and start-up");
    t.row(
        "idle RSS MB", [](const SubjectResult& s) { return s.idle_rss; }, "<=", 0.2);
    t.row(
        "peak RSS MB (VmHWM)", [](const SubjectResult& s) { return s.peak_rss; }, "<=", 0.15);
    t.row("start-up to connected ms", [](const SubjectResult& s) { return s.startup_ms; });

    std::printf("\nthe bot alone\n");
    std::printf("  %-44s %10.0f /s\n", "Mattermost events stored per second (50,000)",
                mattermost_throughput);
    const bool pm_ok = postmortem_ms <= 300;
    std::printf("  %-44s %10.1f ms  target <= 300 ms %s\n", "post-mortem, 100,000 entries",
                postmortem_ms, std::isfinite(postmortem_ms) ? (pm_ok ? "ok" : "MISSED") : "");
    bool alerts_ok = true;
    if (!alerts.latencies_ms.empty()) {
        const double p99 = percentile(alerts.latencies_ms, 0.99);
        alerts_ok = p99 <= 50 && alerts.refused == 0;
        std::printf("  %-44s %10.2f / %.2f / %.2f ms  target p99 <= 50 ms %s\n",
                    "Alertmanager 100/s: answer p50 / p99 / max",
                    percentile(alerts.latencies_ms, 0.5), p99, percentile(alerts.latencies_ms, 1.0),
                    alerts_ok ? "ok" : "MISSED");
        std::printf("  %-44s %10zu in %.1f s, %d not 200, %.1f CPU ms per 1,000\n",
                    "Alertmanager notifications", alerts.latencies_ms.size(), alerts.seconds,
                    alerts.refused, alerts.cpu_per_1000);
    }
    bool engines_ok = true;
    if (!engines.empty()) {
        std::printf("\n(A) by database engine: window of %zu unacked envelopes for %lld s\n",
                    timing.window, static_cast<long long>(timing.window_for.count() / 1000));
        std::printf("  %-26s %14s %8s %8s %8s %16s\n", "configuration", "acked events/s", "p50 ms",
                    "p99 ms", "max ms", "bot CPU ms/1,000");
        for (const auto& run : engines) {
            engines_ok = engines_ok && run.failure.empty();
            if (!run.ran) {
                std::printf("  %-26s not run (%s)\n", run.name.c_str(), run.note.c_str());
                continue;
            }
            const auto& latencies = run.window.latencies_ms;
            std::printf("  %-26s %14.0f %8.2f %8.2f %8.2f %16.1f%s\n", run.name.c_str(),
                        run.window.events_per_second(), percentile(latencies, 0.5),
                        percentile(latencies, 0.99), percentile(latencies, 1.0),
                        run.window.cpu_per_1000(),
                        run.failure.empty() ? "" : ("  FAILED: " + run.failure).c_str());
        }
    }
    const int missed =
        t.missed() + (std::isfinite(postmortem_ms) && !pm_ok ? 1 : 0) + (alerts_ok ? 0 : 1);
    if (!peer.ran || !std::isfinite(postmortem_ms)) {
        std::printf("\n%d target(s) missed; the ratios were not checked without the peer\n",
                    missed);
    } else {
        std::printf("\n%s\n", missed == 0 ? "every target met"
                                          : (std::to_string(missed) + " target(s) missed").c_str());
    }
    if (!engines_ok) {
        std::printf("FAILED: acked envelopes missing from the database (see above)\n");
        return 1;
    }
    return 0;
}
