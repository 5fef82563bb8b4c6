#include "adapters/net/http_client.hpp"
#include "adapters/net/http_server.hpp"
#include "run_async.hpp"
#include "test_certs.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <stdexcept>

using namespace incident::net;
using incident::net::testing::run_async;
using incident::net::testing::sleep_for;
using incident::net::testing::system_client_context;
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using std::chrono::milliseconds;

namespace {

std::string base_url(const HttpServer& server) {
    return "http://127.0.0.1:" + std::to_string(server.port());
}

// Echoes what it received, so tests can compare byte for byte.
awaitable<HttpResponse> echo(HttpRequest request) {
    if (request.path() == "/throw") throw std::runtime_error("handler failure on purpose");
    if (request.path() == "/slow") co_await sleep_for(milliseconds(2000));
    if (request.path() == "/big") co_return HttpResponse::text(200, std::string(4000, 'x'));
    HttpResponse response = HttpResponse::text(200, request.body);
    response.headers.add("X-Echo-Method", request.method);
    response.headers.add("X-Echo-Path", std::string(request.path()));
    response.headers.add("X-Echo-Query-Name", request.query_param("name").value_or("-"));
    response.headers.add("X-Echo-Header", request.headers.get("x-test-header").value_or("-"));
    response.headers.add("X-Echo-Remote", request.remote_address);
    co_return response;
}

// Sends raw bytes on a plain connection and returns everything read until EOF.
awaitable<std::string> raw_exchange(std::uint16_t port, std::string bytes) {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::socket socket(executor);
    boost::system::error_code ec;
    co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port},
                                  asio::redirect_error(use_awaitable, ec));
    REQUIRE_FALSE(ec);
    if (!bytes.empty()) {
        co_await asio::async_write(socket, asio::buffer(bytes),
                                   asio::redirect_error(use_awaitable, ec));
    }
    std::string received;
    auto buffer = asio::dynamic_buffer(received);
    co_await asio::async_read(socket, buffer, asio::redirect_error(use_awaitable, ec));
    co_return received;
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("http: client and server round trip, byte-exact body, headers") {
    asio::io_context io;
    HttpServer server(io.get_executor(), echo);
    REQUIRE(server.listen("127.0.0.1:0").ok());
    CHECK(server.port() != 0);
    HttpClient client(io.get_executor(), system_client_context());

    CHECK(run_async(io, [&]() -> awaitable<void> {
        HttpRequest request;
        request.method = "POST";
        request.url = base_url(server) + "/slack/events?name=J%C3%BCrgen+X";
        request.headers.add("X-Test-Header", "value 1");
        request.headers.add("Content-Type", "application/x-www-form-urlencoded");
        // NUL, CR LF and bytes above 0x7f must arrive unchanged (signatures cover them).
        const char raw[] =
            "token=abc&text=%2Fincident\r\n\0\xff\xfe"
            " end";
        request.body = std::string(raw, sizeof raw - 1);
        const std::string sent = request.body;

        const HttpResponse response = co_await client.request(request);
        CHECK(response.status == 200);
        CHECK(response.error.empty());
        CHECK(response.body == sent);
        CHECK(response.headers.get("x-echo-method") == "POST");
        CHECK(response.headers.get("X-ECHO-PATH") == "/slack/events");
        CHECK(response.headers.get("x-echo-query-name") == "J\xc3\xbcrgen X");
        CHECK(response.headers.get("x-echo-header") == "value 1");
        CHECK(response.headers.get("x-echo-remote").value_or("").rfind("127.0.0.1:", 0) == 0);
        CHECK(response.headers.get("server") == "incident-bot");

        HttpRequest get;
        get.url = base_url(server) + "/healthz";
        const HttpResponse second = co_await client.request(get);
        CHECK(second.status == 200);
        CHECK(second.body.empty());
        CHECK(second.headers.get("x-echo-method") == "GET");
    }));
}

TEST_CASE("http: keep-alive serves pipelined requests on one connection") {
    asio::io_context io;
    HttpServer server(io.get_executor(), echo);
    REQUIRE(server.listen("127.0.0.1:0").ok());
    CHECK(run_async(io, [&]() -> awaitable<void> {
        const std::string received =
            co_await raw_exchange(server.port(),
                                  "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                                  "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CHECK(count(received, "HTTP/1.1 200 OK") == 3);
        CHECK(received.find("X-Echo-Path: /a") != std::string::npos);
        CHECK(received.find("hello") != std::string::npos);
        CHECK(received.find("X-Echo-Path: /c") != std::string::npos);
    }));
}

TEST_CASE("http: request body over the limit gets 413, at the limit passes") {
    asio::io_context io;
    HttpServer server(io.get_executor(), echo);  // default limit: 1 MiB
    REQUIRE(server.listen("127.0.0.1:0").ok());
    HttpClient client(io.get_executor(), system_client_context());

    CHECK(run_async(io, [&]() -> awaitable<void> {
        HttpRequest request;
        request.method = "POST";
        request.url = base_url(server) + "/upload";
        request.body = std::string(1024 * 1024 + 1, 'a');
        const HttpResponse too_big = co_await client.request(request);
        CHECK(too_big.status == 413);
        CHECK(too_big.body.find("too large") != std::string::npos);
        CHECK(too_big.body.find("1048576") != std::string::npos);

        request.body = std::string(1024 * 1024, 'b');
        const HttpResponse fits = co_await client.request(request);
        CHECK(fits.status == 200);
        CHECK(fits.body.size() == 1024 * 1024);
    }));
}

TEST_CASE("http: chunked body over the limit gets 413 too") {
    asio::io_context io;
    HttpServerOptions options;
    options.body_limit = 10;
    HttpServer server(io.get_executor(), echo, options);
    REQUIRE(server.listen("127.0.0.1:0").ok());
    CHECK(run_async(io, [&]() -> awaitable<void> {
        const std::string received = co_await raw_exchange(
            server.port(),
            "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
        CHECK(received.rfind("HTTP/1.1 413", 0) == 0);
    }));
}

TEST_CASE("http: a throwing handler gives 500 and the server keeps serving") {
    asio::io_context io;
    HttpServer server(io.get_executor(), echo);
    REQUIRE(server.listen("127.0.0.1:0").ok());
    HttpClient client(io.get_executor(), system_client_context());
    CHECK(run_async(io, [&]() -> awaitable<void> {
        HttpRequest request;
        request.url = base_url(server) + "/throw";
        const HttpResponse failed = co_await client.request(request);
        CHECK(failed.status == 500);
        request.url = base_url(server) + "/fine";
        const HttpResponse fine = co_await client.request(request);
        CHECK(fine.status == 200);
    }));
}

TEST_CASE("http: malformed request gets 400, oversized head gets 431") {
    asio::io_context io;
    HttpServerOptions options;
    options.header_limit = 1024;
    HttpServer server(io.get_executor(), echo, options);
    REQUIRE(server.listen("127.0.0.1:0").ok());
    CHECK(run_async(io, [&]() -> awaitable<void> {
        const std::string bad = co_await raw_exchange(server.port(), "NOT HTTP AT ALL\r\n\r\n");
        CHECK(bad.rfind("HTTP/1.1 400", 0) == 0);
        const std::string big = co_await raw_exchange(
            server.port(), "GET / HTTP/1.1\r\nX-Big: " + std::string(4096, 'h') + "\r\n\r\n");
        CHECK(big.rfind("HTTP/1.1 431", 0) == 0);
    }));
}

TEST_CASE("http: a silent connection is closed after the header timeout") {
    asio::io_context io;
    HttpServerOptions options;
    options.header_timeout = milliseconds(200);
    HttpServer server(io.get_executor(), echo, options);
    REQUIRE(server.listen("127.0.0.1:0").ok());
    CHECK(run_async(
        io,
        [&]() -> awaitable<void> {
            const auto start = std::chrono::steady_clock::now();
            const std::string received = co_await raw_exchange(server.port(), "");
            CHECK(received.empty());
            CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
        },
        std::chrono::seconds(5)));
}

TEST_CASE("http: client errors come back as status 0 with a message") {
    asio::io_context io;
    HttpClientOptions options;
    options.timeout = milliseconds(300);
    options.body_limit = 1000;
    HttpClient client(io.get_executor(), system_client_context(), options);
    HttpServer server(io.get_executor(), echo);
    REQUIRE(server.listen("127.0.0.1:0").ok());

    // A port nobody listens on: bind one, note it, close it.
    std::uint16_t closed_port = 0;
    {
        asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
        closed_port = probe.local_endpoint().port();
    }

    CHECK(run_async(io, [&]() -> awaitable<void> {
        HttpRequest request;
        request.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/";
        HttpResponse response = co_await client.request(request);
        CHECK(response.status == 0);
        CHECK(response.error_code);
        CHECK(response.error.find("connect to 127.0.0.1:" + std::to_string(closed_port)) !=
              std::string::npos);

        request.url = base_url(server) + "/slow";
        response = co_await client.request(request);
        CHECK(response.status == 0);
        CHECK(response.error.find("timed out") != std::string::npos);

        request.url = base_url(server) + "/big";
        response = co_await client.request(request);
        CHECK(response.status == 0);
        CHECK(response.error.find("larger than 1000 bytes") != std::string::npos);

        request.url = "not a url";
        response = co_await client.request(request);
        CHECK(response.status == 0);
        CHECK_FALSE(response.error.empty());

        request.url = "ws://127.0.0.1:1/";
        response = co_await client.request(request);
        CHECK(response.status == 0);
    }));
}

TEST_CASE("http: listen reports bad addresses and ports in use") {
    asio::io_context io;
    HttpServer first(io.get_executor(), echo);
    REQUIRE(first.listen("127.0.0.1:0").ok());

    HttpServer second(io.get_executor(), echo);
    const NetStatus in_use = second.listen("127.0.0.1:" + std::to_string(first.port()));
    CHECK_FALSE(in_use.ok());
    CHECK(in_use.message.find("cannot listen on") != std::string::npos);

    HttpServer third(io.get_executor(), echo);
    CHECK_FALSE(third.listen("no-port-here").ok());
    CHECK_FALSE(third.listen("127.0.0.1:70000").ok());
    CHECK(third.listen("localhost:0").ok());
    CHECK(third.port() != 0);
}

TEST_CASE("http: stop closes open connections") {
    asio::io_context io;
    HttpServer server(io.get_executor(), echo);
    REQUIRE(server.listen("127.0.0.1:0").ok());
    CHECK(run_async(io, [&]() -> awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        asio::ip::tcp::socket socket(executor);
        co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), server.port()},
                                      use_awaitable);
        CHECK(co_await testing::wait_until([&] { return server.connection_count() == 1; },
                                           milliseconds(2000)));
        server.stop();
        std::string received;
        auto buffer = asio::dynamic_buffer(received);
        boost::system::error_code ec;
        co_await asio::async_read(socket, buffer, asio::redirect_error(use_awaitable, ec));
        CHECK(ec);
        CHECK(server.connection_count() == 0);
    }));
}
