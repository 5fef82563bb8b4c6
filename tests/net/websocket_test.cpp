#include "adapters/net/http_client.hpp"
#include "adapters/net/http_server.hpp"
#include "adapters/net/websocket_client.hpp"
#include "run_async.hpp"
#include "test_certs.hpp"

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>
#include <memory>
#include <thread>

using namespace incident::net;
using incident::net::testing::run_async;
using incident::net::testing::sleep_for;
using incident::net::testing::system_client_context;
using incident::net::testing::TestCertificates;
using incident::net::testing::wait_until;
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using Kind = WebSocketCloseStatus::Kind;
using std::chrono::milliseconds;

namespace {

awaitable<HttpResponse> not_found(HttpRequest request) {
    if (request.path() == "/api/v4/system/ping") {
        co_return HttpResponse::json(200, R"({"status":"OK"})");
    }
    co_return HttpResponse::text(404, "no route for " + std::string(request.path()));
}

awaitable<void> echo_session(WebSocketSession session) {
    while (auto message = co_await session.read()) session.send("echo:" + *message);
}

// An in-process server on 127.0.0.1 (plain or TLS with a throwaway CA) serving REST and
// WebSocket routes; keeps every accepted session so tests can push frames or cut them.
class Fixture {
public:
    explicit Fixture(bool tls = false, HttpHandler http = not_found)
        : certs_(tls ? std::make_unique<TestCertificates>() : nullptr),
          server_(io.get_executor(), std::move(http), server_options(certs_.get())) {}

    asio::io_context io;

    HttpServer& server() { return server_; }
    std::vector<WebSocketSession>& sessions() { return sessions_; }

    // Registers `handler` at `path`, recording each session before running it.
    void route(const std::string& path, WebSocketHandler handler, WebSocketCheck check = {}) {
        server_.add_websocket_route(
            path,
            [this, handler](WebSocketSession session) -> awaitable<void> {
                sessions_.push_back(session);
                co_await handler(session);
            },
            std::move(check));
    }

    void listen() { REQUIRE(server_.listen("127.0.0.1:0").ok()); }

    std::string url(const std::string& path) const {
        return std::string(certs_ ? "wss" : "ws") +
               "://127.0.0.1:" + std::to_string(server_.port()) + path;
    }

    TlsContext client_tls() const {
        return certs_ ? certs_->client_context() : system_client_context();
    }

    std::unique_ptr<WebSocketClient> client(WebSocketOptions options = {}) {
        return std::make_unique<WebSocketClient>(io.get_executor(), client_tls(),
                                                 std::move(options));
    }

private:
    static HttpServerOptions server_options(const TestCertificates* certs) {
        HttpServerOptions options;
        if (certs) options.tls = certs->server_context();
        return options;
    }

    std::unique_ptr<TestCertificates> certs_;
    HttpServer server_;
    std::vector<WebSocketSession> sessions_;
};

}  // namespace

TEST_CASE("websocket: echo, plain and TLS, then a graceful close") {
    for (const bool tls : {false, true}) {
        CAPTURE(tls);
        Fixture fx(tls);
        fx.route("/link/", echo_session);
        fx.listen();
        auto client = fx.client();

        CHECK(run_async(fx.io, [&]() -> awaitable<void> {
            const NetStatus connected = co_await client->connect(fx.url("/link/?ticket=1234"));
            REQUIRE_MESSAGE(connected.ok(), connected.message);
            CHECK(client->is_open());
            for (const std::string text : {"one", "two", "{\"envelope_id\":\"e1\"}"}) {
                CHECK(client->send(text));
            }
            CHECK(co_await client->read() == "echo:one");
            CHECK(co_await client->read() == "echo:two");
            CHECK(co_await client->read() == "echo:{\"envelope_id\":\"e1\"}");

            REQUIRE(fx.sessions().size() == 1);
            CHECK(fx.sessions()[0].request().query_param("ticket") == "1234");

            co_await client->close();
            CHECK_FALSE(client->is_open());
            CHECK(client->close_status().kind == Kind::closed_locally);
            CHECK_FALSE(co_await client->read());
            CHECK_FALSE(client->send("too late"));
            CHECK(co_await wait_until([&] { return !fx.sessions()[0].is_open(); },
                                      milliseconds(2000)));
            CHECK(fx.sessions()[0].close_status().kind == Kind::closed_by_peer);
            CHECK(fx.sessions()[0].close_status().code == 1000);
        }));
    }
}

TEST_CASE("websocket: wss to a server whose CA is not trusted fails with a reason") {
    const TestCertificates certs;
    asio::io_context io;
    HttpServerOptions options;
    options.tls = certs.server_context();
    HttpServer server(io.get_executor(), not_found, options);
    server.add_websocket_route("/ws", echo_session);
    REQUIRE(server.listen("127.0.0.1:0").ok());
    WebSocketClient client(io.get_executor(), system_client_context());

    CHECK(run_async(io, [&]() -> awaitable<void> {
        const NetStatus status =
            co_await client.connect("wss://localhost:" + std::to_string(server.port()) + "/ws");
        CHECK_FALSE(status.ok());
        INFO(status.message);
        CHECK(status.message.find("certificate verify failed") != std::string::npos);
        CHECK_FALSE(client.is_open());
        CHECK_FALSE(co_await client.read());
    }));
}

TEST_CASE("websocket: concurrent senders never interleave frames") {
    constexpr int k_senders = 16;
    constexpr int k_messages = 40;
    Fixture fx;
    std::vector<std::string> received;
    fx.route("/ws", [&](WebSocketSession session) -> awaitable<void> {
        while (auto message = co_await session.read()) received.push_back(std::move(*message));
    });
    fx.listen();
    auto client = fx.client();

    CHECK(run_async(fx.io, [&]() -> awaitable<void> {
        REQUIRE((co_await client->connect(fx.url("/ws"))).ok());
        int finished = 0;
        auto executor = co_await asio::this_coro::executor;
        for (int sender = 0; sender < k_senders; ++sender) {
            asio::co_spawn(
                executor,
                [&, sender]() -> awaitable<void> {
                    for (int n = 0; n < k_messages; ++n) {
                        // Sizes up to ~64 KiB, so writes take a while and queue up.
                        const std::size_t size = 1 + ((sender * 7919 + n * 104729) % 65536);
                        const char fill = static_cast<char>('a' + sender % 26);
                        CHECK(client->send(std::to_string(sender) + " " + std::to_string(n) + " " +
                                           std::string(size, fill)));
                        co_await asio::post(executor, use_awaitable);
                    }
                    ++finished;
                },
                [](std::exception_ptr e) {
                    if (e) std::rethrow_exception(e);
                });
        }
        CHECK(co_await wait_until(
            [&] { return received.size() == std::size_t{k_senders} * k_messages; },
            milliseconds(15'000)));

        std::map<int, int> next_of;
        for (const std::string& message : received) {
            int sender = -1;
            int n = -1;
            int offset = 0;
            REQUIRE(std::sscanf(message.c_str(), "%d %d %n", &sender, &n, &offset) == 2);
            const std::size_t size = 1 + ((sender * 7919 + n * 104729) % 65536);
            const char fill = static_cast<char>('a' + sender % 26);
            CHECK(message.size() == static_cast<std::size_t>(offset) + size);
            CHECK(message.find_first_not_of(fill, static_cast<std::size_t>(offset)) ==
                  std::string::npos);
            // Each sender's messages arrive in the order it sent them.
            CHECK(n == next_of[sender]);
            next_of[sender] = n + 1;
        }
        CHECK(finished == k_senders);
        co_await client->close();
    }));
}

TEST_CASE("websocket: a server that stops answering pings is reported dead") {
    Fixture fx;
    fx.route("/ws", [](WebSocketSession session) -> awaitable<void> {
        session.send("hello");
        // Hung: never reads again, so the client's pings get no pong.
        co_await sleep_for(milliseconds(10'000));
    });
    fx.listen();
    WebSocketOptions options;
    options.ping_interval = milliseconds(100);
    options.dead_after = milliseconds(300);
    auto client = fx.client(options);

    CHECK(run_async(fx.io, [&]() -> awaitable<void> {
        REQUIRE((co_await client->connect(fx.url("/ws"))).ok());
        const auto start = std::chrono::steady_clock::now();
        CHECK(co_await client->read() == "hello");
        CHECK_FALSE(co_await client->read());
        const auto elapsed = std::chrono::steady_clock::now() - start;
        CHECK(elapsed >= milliseconds(300));
        CHECK(elapsed < milliseconds(3000));
        const WebSocketCloseStatus status = client->close_status();
        CHECK(status.kind == Kind::dead);
        CHECK(status.message.starts_with("no frame or pong for "));
        CHECK(status.message.ends_with(" ms (dead after 300 ms)"));
        CHECK_FALSE(client->is_open());
    }));
}

TEST_CASE("websocket: a server that answers pings stays alive") {
    Fixture fx;
    fx.route("/ws", echo_session);
    fx.listen();
    WebSocketOptions options;
    options.ping_interval = milliseconds(50);
    options.dead_after = milliseconds(150);
    auto client = fx.client(options);

    CHECK(run_async(fx.io, [&]() -> awaitable<void> {
        REQUIRE((co_await client->connect(fx.url("/ws"))).ok());
        co_await sleep_for(milliseconds(600));
        CHECK(client->is_open());
        CHECK(client->send("still here"));
        CHECK(co_await client->read() == "echo:still here");
        co_await client->close();
        CHECK(client->close_status().kind == Kind::closed_locally);
    }));
}

TEST_CASE("websocket: an abrupt server close reaches the reader after queued frames") {
    for (const bool tls : {false, true}) {
        CAPTURE(tls);
        Fixture fx(tls);
        fx.route("/ws", [](WebSocketSession session) -> awaitable<void> {
            session.send("one");
            session.send("two");
            co_await session.flush();
            session.abort();
        });
        fx.listen();
        auto client = fx.client();

        CHECK(run_async(fx.io, [&]() -> awaitable<void> {
            REQUIRE((co_await client->connect(fx.url("/ws"))).ok());
            CHECK(co_await client->read() == "one");
            CHECK(co_await client->read() == "two");
            CHECK_FALSE(co_await client->read());
            const WebSocketCloseStatus status = client->close_status();
            CHECK(status.kind == Kind::failed);
            CHECK(status.error);
            CHECK(status.message.find("connection lost") == 0);
        }));
    }
}

TEST_CASE("websocket: tests push frames from outside the handler and read the client's") {
    Fixture fx;
    std::vector<std::string> from_client;
    fx.route("/ws", [&](WebSocketSession session) -> awaitable<void> {
        while (auto message = co_await session.read()) from_client.push_back(*message);
    });
    fx.listen();
    auto client = fx.client();

    CHECK(run_async(fx.io, [&]() -> awaitable<void> {
        REQUIRE((co_await client->connect(fx.url("/ws"))).ok());
        REQUIRE(co_await wait_until([&] { return fx.sessions().size() == 1; }, milliseconds(2000)));
        WebSocketSession session = fx.sessions()[0];
        CHECK(session.send(R"({"type":"hello","num_connections":1})"));
        CHECK(co_await client->read() == R"({"type":"hello","num_connections":1})");
        CHECK(client->send(R"({"envelope_id":"abc"})"));
        CHECK(co_await wait_until([&] { return from_client.size() == 1; }, milliseconds(2000)));
        CHECK(from_client[0] == R"({"envelope_id":"abc"})");
        session.abort();
        CHECK_FALSE(co_await client->read());
        CHECK(client->close_status().kind == Kind::failed);
    }));
}

TEST_CASE("websocket: the peer's close code and reason are reported") {
    Fixture fx;
    fx.route("/ws", [](WebSocketSession session) -> awaitable<void> {
        co_await session.close(4000, "refresh_requested");
    });
    fx.listen();
    auto client = fx.client();

    CHECK(run_async(fx.io, [&]() -> awaitable<void> {
        REQUIRE((co_await client->connect(fx.url("/ws"))).ok());
        CHECK_FALSE(co_await client->read());
        const WebSocketCloseStatus status = client->close_status();
        CHECK(status.kind == Kind::closed_by_peer);
        CHECK(status.code == 4000);
        CHECK(status.reason == "refresh_requested");
        CHECK(co_await wait_until([&] { return !fx.sessions()[0].is_open(); }, milliseconds(2000)));
        CHECK(fx.sessions()[0].close_status().kind == Kind::closed_locally);
    }));
}

TEST_CASE("websocket: REST and WebSocket on one port, upgrade checks and headers") {
    Fixture fx;
    fx.route("/api/v4/websocket", echo_session,
             [](const HttpRequest& request) -> std::optional<HttpResponse> {
                 if (request.headers.get("authorization") != "Bearer good-token") {
                     return HttpResponse::json(401,
                                               R"({"id":"api.context.session_expired.app_error"})");
                 }
                 return std::nullopt;
             });
    fx.listen();
    HttpClient http(fx.io.get_executor(), fx.client_tls());

    CHECK(run_async(fx.io, [&]() -> awaitable<void> {
        HttpRequest ping;
        ping.url = "http://127.0.0.1:" + std::to_string(fx.server().port()) + "/api/v4/system/ping";
        const HttpResponse pong = co_await http.request(ping);
        CHECK(pong.status == 200);
        CHECK(pong.body == R"({"status":"OK"})");

        WebSocketOptions bad;
        bad.headers.add("Authorization", "Bearer wrong");
        auto refused = fx.client(bad);
        const NetStatus refusal = co_await refused->connect(fx.url("/api/v4/websocket"));
        CHECK_FALSE(refusal.ok());
        INFO(refusal.message);
        CHECK(refusal.message.find("HTTP 401") != std::string::npos);
        CHECK(refusal.message.find("session_expired") != std::string::npos);

        auto unrouted = fx.client();
        const NetStatus missing = co_await unrouted->connect(fx.url("/nowhere"));
        CHECK_FALSE(missing.ok());
        CHECK(missing.message.find("HTTP 404") != std::string::npos);

        WebSocketOptions good;
        good.headers.add("Authorization", "Bearer good-token");
        auto client = fx.client(good);
        REQUIRE((co_await client->connect(fx.url("/api/v4/websocket"))).ok());
        CHECK(client->send(R"({"seq":1,"action":"ping"})"));
        CHECK(co_await client->read() == R"(echo:{"seq":1,"action":"ping"})");
        CHECK(fx.sessions().back().request().headers.get("user-agent") == "incident-bot");

        // A used client cannot connect again: reconnecting means a new client.
        const NetStatus again = co_await client->connect(fx.url("/api/v4/websocket"));
        CHECK_FALSE(again.ok());
        co_await client->close();
    }));
}

TEST_CASE("websocket: server stop ends open sessions and connect errors are reported") {
    Fixture fx;
    fx.route("/ws", echo_session);
    fx.listen();
    auto client = fx.client();
    std::uint16_t closed_port = 0;
    {
        asio::ip::tcp::acceptor probe(fx.io, {asio::ip::make_address("127.0.0.1"), 0});
        closed_port = probe.local_endpoint().port();
    }

    CHECK(run_async(fx.io, [&]() -> awaitable<void> {
        REQUIRE((co_await client->connect(fx.url("/ws"))).ok());
        fx.server().stop();
        CHECK_FALSE(co_await client->read());
        CHECK(client->close_status().kind == Kind::failed);

        auto nobody = fx.client();
        const NetStatus refused =
            co_await nobody->connect("ws://127.0.0.1:" + std::to_string(closed_port) + "/");
        CHECK_FALSE(refused.ok());
        CHECK(refused.message.find("connect to 127.0.0.1:") != std::string::npos);

        auto wrong = fx.client();
        CHECK_FALSE((co_await wrong->connect("https://127.0.0.1/")).ok());
    }));
}

TEST_CASE(
    "websocket: under a flood no reply is dropped: the client stops reading while its send "
    "queue is full") {
    Fixture fx;
    constexpr int k_frames = 3000;
    const std::string payload(8192, 'x');
    WebSocketOptions options;
    options.max_queued_messages = 16;
    options.max_buffered_messages = 16;
    auto client = fx.client(options);
    std::vector<int> replies;
    bool in_order = true;
    fx.route("/flood", [&](WebSocketSession session) -> awaitable<void> {
        for (int i = 0; i < k_frames; ++i) session.send(std::to_string(i) + ":" + payload);
        // Reads nothing until the client's replies have filled the sockets and its queue.
        co_await wait_until([&] { return client->queue_stats().queued >= 16; },
                            milliseconds(10'000));
        while (replies.size() < std::size_t(k_frames)) {
            auto reply = co_await session.read();
            if (!reply) break;
            const int n = std::stoi(reply->substr(3, reply->find(':', 3) - 3));
            in_order &= n == static_cast<int>(replies.size());
            replies.push_back(n);
        }
        while (co_await session.read()) {
        }
    });
    fx.listen();

    CHECK(run_async(fx.io, [&]() -> awaitable<void> {
        REQUIRE((co_await client->connect(fx.url("/flood"))).ok());
        // Echo every frame, as an adapter acks every envelope.
        int echoed = 0;
        while (echoed < k_frames) {
            auto message = co_await client->read();
            REQUIRE(message);
            CHECK(client->send("re:" + message->substr(0, message->find(':')) + ":" + payload));
            ++echoed;
        }
        REQUIRE(co_await wait_until([&] { return replies.size() == std::size_t(k_frames); },
                                    milliseconds(10'000)));
        CHECK(in_order);
        const WebSocketQueueStats stats = client->queue_stats();
        MESSAGE("send queue at most " << stats.max_queued << ", read-ahead at most "
                                      << stats.max_buffered);
        CHECK(stats.max_queued >= 16);  // the queue did fill: back-pressure was exercised
        CHECK(stats.max_queued <= 16 + 16);
        CHECK(stats.max_buffered <= 16);
        co_await client->close();
        CHECK(client->close_status().kind == Kind::closed_locally);
    }));
}

TEST_CASE(
    "websocket: under a flood the read-ahead stays bounded (messages and bytes) while the owner "
    "does not read, and nothing is lost") {
    for (const bool by_bytes : {false, true}) {
        CAPTURE(by_bytes);
        Fixture fx;
        constexpr int k_frames = 3000;
        const std::string payload(8192, 'y');
        WebSocketOptions options;
        options.max_buffered_messages = by_bytes ? 100'000 : 32;
        options.max_buffered_bytes = by_bytes ? 256 * 1024 : 1024 * 1024 * 1024;
        const std::size_t bound = by_bytes ? 256 * 1024 / 8192 + 1 : 32;
        auto client = fx.client(options);
        fx.route("/flood", [&](WebSocketSession session) -> awaitable<void> {
            for (int i = 0; i < k_frames; ++i) session.send(std::to_string(i) + ":" + payload);
            co_await session.flush();
            while (co_await session.read()) {
            }
        });
        fx.listen();

        CHECK(run_async(fx.io, [&]() -> awaitable<void> {
            REQUIRE((co_await client->connect(fx.url("/flood"))).ok());
            REQUIRE(
                co_await wait_until([&] { return fx.sessions().size() == 1; }, milliseconds(2000)));
            // The owner is busy: the reader fills the read-ahead to its bound and stops, so
            // the server's frames wait in its own queue (TCP pushes back).
            REQUIRE(co_await wait_until(
                [&] {
                    return client->queue_stats().buffered >= (by_bytes ? bound - 1 : bound) &&
                           fx.sessions()[0].queue_stats().queued > 0;
                },
                milliseconds(10'000)));
            const WebSocketQueueStats full = client->queue_stats();
            MESSAGE("read-ahead " << full.buffered << " messages, " << full.buffered_bytes
                                  << " bytes; the server still holds "
                                  << fx.sessions()[0].queue_stats().queued);
            CHECK(full.max_buffered <= bound);
            CHECK(client->is_open());  // waiting on its owner is no sign of a dead peer

            for (int i = 0; i < k_frames; ++i) {
                auto message = co_await client->read();
                REQUIRE(message);
                REQUIRE(message->starts_with(std::to_string(i) + ":"));
            }
            CHECK(client->queue_stats().max_buffered <= bound);
            co_await client->close();
        }));
    }
}

TEST_CASE("websocket: frames that arrived while the owner held the loop prove the peer alive") {
    // The server runs on a thread of its own: it keeps sending while the client's loop is held.
    asio::io_context server_io;
    HttpServer server(server_io.get_executor(), not_found, HttpServerOptions{});
    server.add_websocket_route("/ws", [](WebSocketSession session) -> awaitable<void> {
        while (session.is_open()) {
            session.send("tick");
            co_await sleep_for(milliseconds(20));
        }
    });
    REQUIRE(server.listen("127.0.0.1:0").ok());
    auto work = asio::make_work_guard(server_io);
    std::thread server_thread([&] { server_io.run(); });

    asio::io_context io;
    WebSocketOptions options;
    options.ping_interval = milliseconds(100);
    options.dead_after = milliseconds(300);
    WebSocketClient client(io.get_executor(), system_client_context(), options);
    const bool finished = run_async(io, [&]() -> awaitable<void> {
        REQUIRE((co_await client.connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/ws"))
                    .ok());
        CHECK(co_await client.read() == "tick");
        // A slow synchronous call of the owner (a store statement): the loop runs nothing
        // for twice dead_after while the peer's frames wait in the socket.
        std::this_thread::sleep_for(milliseconds(600));
        CHECK(client.silent_for() == milliseconds(0));
        for (int i = 0; i < 5; ++i) CHECK(co_await client.read() == "tick");
        CHECK(client.is_open());
        CHECK(client.close_status().kind != Kind::dead);
        co_await client.close();
    });
    asio::post(server_io, [&] { server.stop(); });
    work.reset();
    server_thread.join();
    CHECK(finished);
}
