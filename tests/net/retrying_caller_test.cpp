#include "adapters/net/retrying_caller.hpp"
#include "adapters/net/http_client.hpp"
#include "adapters/net/http_server.hpp"
#include "log_capture.hpp"
#include "run_async.hpp"
#include "test_certs.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include <map>
#include <optional>
#include <string>

using namespace incident::net;
using incident::net::testing::run_async;
using incident::net::testing::system_client_context;
using incident::testing::LogCapture;
namespace asio = boost::asio;
using asio::awaitable;
using std::chrono::milliseconds;

namespace {

struct CountingObserver : PlatformObserver {
    std::map<std::string, int> rate_limited_calls;
    std::map<std::string, int> api_errors;
    void rate_limited(std::string_view platform, std::string_view method) override {
        ++rate_limited_calls[std::string(platform) + " " + std::string(method)];
    }
    void api_error(std::string_view platform, std::string_view method) override {
        ++api_errors[std::string(platform) + " " + std::string(method)];
    }
};

// Answers /limited with 429 (Retry-After: 0) `limited` times, /broken with 503 always,
// anything else with 200; counts the requests per path.
struct FlakyServer {
    explicit FlakyServer(asio::io_context& io)
        : server(io.get_executor(), [this](HttpRequest r) { return handle(std::move(r)); }) {
        REQUIRE(server.listen("127.0.0.1:0").ok());
    }

    awaitable<HttpResponse> handle(HttpRequest request) {
        const std::string path(request.path());
        ++hits[path];
        if (path == "/limited" && limited > 0) {
            --limited;
            HttpResponse r = HttpResponse::text(429, "slow down");
            r.headers.set("Retry-After", "0");
            co_return r;
        }
        if (path == "/broken") co_return HttpResponse::text(503, "down");
        co_return HttpResponse::text(200, "ok");
    }

    HttpRequest request(const std::string& path) const {
        HttpRequest r;
        r.url = "http://127.0.0.1:" + std::to_string(server.port()) + path;
        return r;
    }

    HttpServer server;
    int limited = 0;
    std::map<std::string, int> hits;
};

// A caller for the platform "chat" on the flaky server, logs captured, calls counted.
struct CallerFixture {
    explicit CallerFixture(RateLimitRules rules = {})
        : caller(io.get_executor(), http, "chat", &observer, std::move(rules)) {}

    asio::io_context io;
    LogCapture log;
    FlakyServer fake{io};
    HttpClient http{io.get_executor(), system_client_context()};
    CountingObserver observer;
    RetryingCaller caller;
};

}  // namespace

TEST_CASE("retrying caller: a 429 is waited out and repeated, never counted as an attempt") {
    CallerFixture f;
    f.caller.set_retry_policy(2, milliseconds(1));
    f.fake.limited = 3;
    const bool finished = run_async(f.io, [&]() -> awaitable<void> {
        const ApiCallName name{"post.message", "post.message", "post.message"};
        HttpRequest request = f.fake.request("/limited");
        const HttpResponse r = co_await f.caller.send(std::move(request), name);
        CHECK(r.status == 200);
    });
    CHECK(finished);
    CHECK(f.fake.hits["/limited"] == 4);
    CHECK(f.observer.rate_limited_calls["chat post.message"] == 3);
    CHECK(f.observer.api_errors.empty());
    CHECK(f.log.contains(
        "chat post.message: rate limited, retrying in 0 ms (the call is kept, not dropped)"));
}

TEST_CASE(
    "retrying caller: 5xx is retried up to the attempts, then handed back, and failed() logs and "
    "counts") {
    CallerFixture f;
    f.caller.set_retry_policy(3, milliseconds(1));
    const bool finished = run_async(f.io, [&]() -> awaitable<void> {
        const ApiCallName name{"GET things/{id}", "things/{id}", ""};
        HttpRequest request = f.fake.request("/broken");
        const HttpResponse r = co_await f.caller.send(std::move(request), name);
        CHECK(r.status == 503);
        f.caller.failed(name, "HTTP 503");
    });
    CHECK(finished);
    CHECK(f.fake.hits["/broken"] == 3);
    CHECK(f.log.contains("chat GET things/{id}: HTTP 503 (attempt 1/3), retrying in"));
    CHECK(f.log.contains("chat GET things/{id}: HTTP 503 (attempt 2/3), retrying in"));
    CHECK(f.log.contains("chat GET things/{id}: failed: HTTP 503"));
    CHECK(f.observer.api_errors["chat things/{id}"] == 1);
}

TEST_CASE("retrying caller: a used-up window holds back the next call of the same bucket") {
    RateLimitRules rules;
    rules.exhausted = [](const HttpResponse&) -> std::optional<milliseconds> {
        return milliseconds(300);
    };
    CallerFixture f(rules);
    std::chrono::steady_clock::duration second_call{};
    const bool finished = run_async(f.io, [&]() -> awaitable<void> {
        const ApiCallName name{"GET a", "a", "one"};
        HttpRequest first = f.fake.request("/a");
        co_await f.caller.send(std::move(first), name);
        const auto started = std::chrono::steady_clock::now();
        HttpRequest second = f.fake.request("/a");
        co_await f.caller.send(std::move(second), name);
        second_call = std::chrono::steady_clock::now() - started;
    });
    CHECK(finished);
    CHECK(second_call >= milliseconds(300));
}
