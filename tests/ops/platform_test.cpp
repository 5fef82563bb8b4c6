#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "adapters/chat_platform.hpp"
#include "adapters/net/http_client.hpp"
#include "bot/app/runtime.hpp"
#include "bot/clock.hpp"
#include "bot/incident_service.hpp"
#include "commands/router.hpp"
#include "process.hpp"
#include "run_async.hpp"
#include "storage/sqlite_store.hpp"

// A platform the binary does not know, registered the way bot/app/platforms.cpp registers
// Slack: one PlatformRegistration. The runtime starts it, hands it its /<name>/ requests,
// shows its health, and drains and stops it, without a line of the runtime knowing its name.
using namespace incident;
using namespace incident::testing;
namespace asio = boost::asio;

namespace {

struct Seen {
    std::vector<std::string> calls;  // start, drain, stop, in order
    Outcome declared;
    net::HttpResponse own_route;
    nlohmann::json health;
};

class TestPlatform final : public ChatPlatform {
public:
    TestPlatform(const PlatformContext& context, Seen& seen, std::string base)
        : context_(context), seen_(seen), base_(std::move(base)) {}

    void start() override {
        seen_.calls.push_back("start");
        asio::co_spawn(context_.executor, run(), asio::detached);
    }
    void stop() override { seen_.calls.push_back("stop"); }
    asio::awaitable<void> drain(std::chrono::steady_clock::time_point) override {
        seen_.calls.push_back("drain");
        co_return;
    }
    void deliver(const Effect&) override {}
    asio::awaitable<net::HttpResponse> handle_http(net::HttpRequest request) override {
        co_return net::HttpResponse::text(
            200, "test platform got " + std::string(request.path()) + "\n");
    }
    nlohmann::json health() const override { return nlohmann::json{{"ok", true}, {"test", 1}}; }

private:
    // What a platform does with a slash command: the router decides, the platform shows it.
    asio::awaitable<void> run() {
        CommandRequest request;
        request.request_id = "test-1";
        request.platform = "test";
        request.channel_id = "C1";
        request.channel_name = "general";
        request.caller = Actor{"U1", "alice"};
        request.text = "declare sev2 Checkout is down";
        request.at = 1'700'000'000'000;
        seen_.declared = context_.router.dispatch(request);

        net::HttpClient client(context_.executor, context_.tls);
        net::HttpRequest own;
        own.url = base_ + "/test/hello";
        seen_.own_route = co_await client.request(own);
        net::HttpRequest healthz;
        healthz.url = base_ + "/healthz";
        const net::HttpResponse health = co_await client.request(healthz);
        seen_.health = nlohmann::json::parse(health.body, nullptr, false);
        context_.request_shutdown("the test platform is done");
    }

    PlatformContext context_;
    Seen& seen_;
    std::string base_;
};

Seen* g_seen = nullptr;
std::string g_base;

}  // namespace

TEST_CASE("a platform is one registration: started, routed, shown in /healthz, drained, stopped") {
    TempDir dir("platform");
    const std::uint16_t port = net::testing::free_port();
    g_base = "http://127.0.0.1:" + std::to_string(port);
    const std::string db = (dir.path / "bot.db").string();
    const ConfigResult loaded =
        load_config([&](const std::string& key) -> std::optional<std::string> {
            if (key == "INCIDENT_BOT_DB") return db;
            if (key == "INCIDENT_BOT_LISTEN") return "127.0.0.1:" + std::to_string(port);
            return std::nullopt;
        });
    REQUIRE(loaded.errors.empty());
    Seen seen;
    g_seen = &seen;
    const PlatformRegistration platforms[] = {
        {"test", [](const PlatformContext&) { return true; },
         [](const PlatformContext& context) -> std::unique_ptr<ChatPlatform> {
             return std::make_unique<TestPlatform>(context, *g_seen, g_base);
         }},
    };
    SystemClock clock;
    SqliteStore store(db);
    const int status =
        app::run_bot(loaded, store, clock, false, platforms, [] { return std::string(); });

    CHECK(status == 0);
    CHECK(seen.calls == std::vector<std::string>{"start", "drain", "stop"});
    CHECK(seen.declared.reply.ok);
    CHECK(has(seen.declared.reply.text, "INC-1"));
    // The effects are the platform's to carry out: a channel for the incident on "test".
    CHECK(std::any_of(seen.declared.effects.begin(), seen.declared.effects.end(),
                      [](const Effect& e) { return std::holds_alternative<CreateChannel>(e); }));
    CHECK(seen.own_route.status == 200);
    CHECK(seen.own_route.body == "test platform got /test/hello\n");
    REQUIRE(seen.health.is_object());
    REQUIRE(seen.health.contains("checks"));
    const nlohmann::json& checks = seen.health["checks"];
    CHECK(checks["test"] == nlohmann::json{{"ok", true}, {"test", 1}});
    CHECK_FALSE(checks.contains("slack"));
    CHECK_FALSE(checks.contains("console"));

    IncidentService service(store, clock);
    const auto declared = service.find(1);
    REQUIRE(declared);
    CHECK(declared->platform == "test");
}
