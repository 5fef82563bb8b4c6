#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "adapters/mattermost/mattermost_adapter.hpp"
#include "adapters/net/http_client.hpp"
#include "adapters/net/http_server.hpp"
#include "bot/clock.hpp"
#include "commands/router.hpp"
#include "fake_mattermost.hpp"
#include "log_capture.hpp"
#include "run_async.hpp"
#include "storage/sqlite_store.hpp"
#include "test_certs.hpp"

namespace incident::testing {

struct MattermostHarnessOptions {
    bool tls = false;
    bool manual_clock = false;
    std::string command_token;  // empty: the adapter adopts the registered command's token
    std::string team = "ops";
    std::chrono::milliseconds ping_interval{0};  // 0: the WebSocketClient's default
    std::string db_path = ":memory:";  // a file lets a test reach the database from outside
};

inline MattermostHarnessOptions with_tls() {
    MattermostHarnessOptions o;
    o.tls = true;
    return o;
}
inline MattermostHarnessOptions with_manual_clock() {
    MattermostHarnessOptions o;
    o.manual_clock = true;
    return o;
}
inline MattermostHarnessOptions with_command_token(std::string token) {
    MattermostHarnessOptions o;
    o.command_token = std::move(token);
    return o;
}

// One bot wired to one fake Mattermost, both on this io_context; the bot's HTTP endpoint
// (POST /mattermost/command) is served on loopback and is the registered command URL.
struct MattermostHarness {
    boost::asio::io_context io;
    std::unique_ptr<net::testing::TestCertificates> certs;
    std::unique_ptr<FakeMattermost> fake;
    SqliteStore store;
    std::unique_ptr<Clock> clock;
    ManualClock* manual = nullptr;
    std::unique_ptr<IncidentService> service;
    std::unique_ptr<Outbox> outbox;
    std::unique_ptr<commands::CommandRouter> router;
    std::unique_ptr<mattermost::MattermostAdapter> adapter;
    std::unique_ptr<net::HttpServer> bot_server;
    std::unique_ptr<net::HttpClient> client;

    explicit MattermostHarness(MattermostHarnessOptions o = {}) : store(o.db_path) {
        if (o.manual_clock) {
            auto c = std::make_unique<ManualClock>(1'800'000'000'000);
            manual = c.get();
            clock = std::move(c);
        } else {
            clock = std::make_unique<SystemClock>();
        }
        service = std::make_unique<IncidentService>(store, *clock,
                                                    ServiceOptions{"https://bot.example.com"});
        outbox = std::make_unique<Outbox>(store, *clock);
        service->use_outbox(*outbox);
        router = std::make_unique<commands::CommandRouter>(*service);
        commands::register_builtin_commands(*router);
        std::optional<net::TlsContext> tls_client;
        if (o.tls) {
            certs = std::make_unique<net::testing::TestCertificates>();
            fake = std::make_unique<FakeMattermost>(io.get_executor(), certs->server_context());
            tls_client = certs->client_context();
        } else {
            fake = std::make_unique<FakeMattermost>(io.get_executor());
            tls_client = net::testing::system_client_context();
        }
        net::HttpServerOptions server_options;
        server_options.body_limit = 64 * 1024;
        bot_server = std::make_unique<net::HttpServer>(
            io.get_executor(),
            [this](net::HttpRequest r) { return adapter->handle_http(std::move(r)); },
            server_options);
        if (!bot_server->listen("127.0.0.1:0").ok()) throw std::runtime_error("bot server");
        client = std::make_unique<net::HttpClient>(io.get_executor(),
                                                   net::testing::system_client_context());

        tls_client_ = tls_client;
        options_.url = fake->url();
        options_.token = fake->token;
        options_.team = o.team;
        options_.command_token = o.command_token;
        options_.public_url = bot_url() + "/";
        options_.reconnect = {std::chrono::milliseconds(20), std::chrono::milliseconds(200),
                              net::Jitter::full};
        options_.outbox.backoff_base = std::chrono::milliseconds(20);
        options_.outbox.backoff_cap = std::chrono::milliseconds(200);
        if (o.ping_interval.count() > 0) {
            options_.websocket.ping_interval = o.ping_interval;
            options_.websocket.dead_after = 2 * o.ping_interval;
        }
        adapter = make_adapter();
    }

    // Another bot process on the same database and server (a restart).
    std::unique_ptr<mattermost::MattermostAdapter> make_adapter() {
        auto made = std::make_unique<mattermost::MattermostAdapter>(
            io.get_executor(), *tls_client_, *service, *router, *outbox, options_);
        made->api().set_retry_policy(3, std::chrono::milliseconds(20));
        return made;
    }

    std::optional<net::TlsContext> tls_client_;
    mattermost::MattermostOptions options_;

    ~MattermostHarness() {
        if (adapter) adapter->stop();
        if (bot_server) bot_server->stop();
    }

    std::string bot_url() const { return "http://127.0.0.1:" + std::to_string(bot_server->port()); }

    std::string alice() const { return mm_id("alice"); }
    std::string bob() const { return mm_id("bob"); }
    std::string carol() const { return mm_id("carol"); }

    boost::asio::awaitable<bool> ready() {
        co_return co_await net::testing::wait_until(
            [&] {
                return adapter->socket_connected() && !fake->commands.empty() &&
                       adapter->next_sequence() > 0;  // hello seen
            },
            std::chrono::milliseconds(5000));
    }

    // Every published event was processed and every effect executed.
    boost::asio::awaitable<bool> idle() {
        co_return co_await net::testing::wait_until(
            [&] {
                return adapter->pending_effects() == 0 &&
                       adapter->next_sequence() == fake->next_sequence();
            },
            std::chrono::milliseconds(8000));
    }

    std::size_t messages(std::int64_t incident) {
        std::size_t n = 0;
        for (const auto& e : service->timeline(incident)) n += e.kind == EntryKind::message;
        return n;
    }

    // POST /mattermost/command with a form body built by the fake.
    boost::asio::awaitable<net::HttpResponse> post_command(const std::string& body,
                                                           const std::string& content_type,
                                                           const std::string& authorization = {}) {
        net::HttpRequest r;
        r.method = "POST";
        r.url = bot_url() + "/mattermost/command";
        r.headers.set("Content-Type", content_type);
        if (!authorization.empty()) r.headers.set("Authorization", authorization);
        r.body = body;
        co_return co_await client->request(std::move(r));
    }

    // Declares INC-1 from town-square and returns its channel id.
    boost::asio::awaitable<std::string> declare(
        const std::string& text = "declare sev2 Checkout down") {
        const nlohmann::json reply =
            co_await fake->run_command(fake->town_square_id, alice(), text);
        if (reply.value("response_type", "") != "in_channel") co_return std::string();
        if (!co_await idle()) co_return std::string();
        const auto inc = service->find(1);
        if (!inc) co_return std::string();
        co_return inc->channel_id;
    }
};

}  // namespace incident::testing
