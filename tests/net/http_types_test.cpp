#include "adapters/net/http_types.hpp"
#include "adapters/net/outbox_worker.hpp"
#include "adapters/net/retry_after.hpp"

#include <doctest/doctest.h>

using namespace incident::net;
using std::chrono::seconds;

TEST_CASE("headers: names are case-insensitive, order and repeats kept") {
    Headers headers{{"Content-Type", "application/json"}, {"X-Slack-Retry-Num", "1"}};
    headers.add("Set-Cookie", "a=1");
    headers.add("set-cookie", "b=2");
    CHECK(headers.get("content-type") == "application/json");
    CHECK(headers.get("CONTENT-TYPE") == "application/json");
    CHECK(headers.get("x-slack-retry-num") == "1");
    CHECK_FALSE(headers.get("X-Missing"));
    CHECK(headers.get_all("SET-COOKIE") == std::vector<std::string>{"a=1", "b=2"});
    CHECK(headers.size() == 4);

    headers.set("SET-COOKIE", "c=3");
    CHECK(headers.get_all("set-cookie") == std::vector<std::string>{"c=3"});
    headers.erase("content-TYPE");
    CHECK_FALSE(headers.contains("Content-Type"));
    CHECK(headers.contains("x-SLACK-retry-num"));
}

TEST_CASE("request: path, query and decoded query parameters") {
    HttpRequest request;
    request.url = "/link/?ticket=12%2034&app_id=A1&name=John+Doe&flag";
    CHECK(request.path() == "/link/");
    CHECK(request.query() == "ticket=12%2034&app_id=A1&name=John+Doe&flag");
    CHECK(request.query_param("ticket") == "12 34");
    CHECK(request.query_param("app_id") == "A1");
    CHECK(request.query_param("name") == "John Doe");
    CHECK(request.query_param("flag") == "");
    CHECK_FALSE(request.query_param("missing"));

    request.url = "/slack/events";
    CHECK(request.path() == "/slack/events");
    CHECK(request.query().empty());
    CHECK_FALSE(request.query_param("x"));
}

TEST_CASE("response helpers") {
    const auto json = HttpResponse::json(200, R"({"ok":true})");
    CHECK(json.ok());
    CHECK(json.headers.get("content-type") == "application/json; charset=utf-8");
    const auto failure = HttpResponse::failure({}, "boom");
    CHECK(failure.status == 0);
    CHECK_FALSE(failure.ok());
    CHECK(failure.error == "boom");
}

TEST_CASE("retry-after: delay-seconds only") {
    CHECK(parse_retry_after("30") == seconds(30));
    CHECK(parse_retry_after(" 1 ") == seconds(1));
    CHECK(parse_retry_after("0") == seconds(0));
    CHECK(parse_retry_after("99999999999999999999") == seconds(24 * 60 * 60));
    CHECK_FALSE(parse_retry_after(""));
    CHECK_FALSE(parse_retry_after("-1"));
    CHECK_FALSE(parse_retry_after("1.5"));
    CHECK_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));

    HttpResponse limited = HttpResponse::json(429, R"({"ok":false,"error":"ratelimited"})");
    CHECK_FALSE(retry_after(limited));
    limited.headers.add("retry-after", "1");
    CHECK(retry_after(limited) == seconds(1));
}

TEST_CASE("refusals: rate limits and server errors wait as asked, other 4xx fail for good") {
    using Status = Delivery::Status;
    for (const int status : {420, 429, 503}) {
        CAPTURE(status);
        HttpResponse limited = HttpResponse::json(status, R"({"error":"slow down"})");
        limited.headers.set("Retry-After", "7");
        const Delivery d = delivery_of_refusal(limited, "POST /incidents: slow down");
        CHECK(d.status == Status::transient);
        CHECK(d.retry_after == std::chrono::milliseconds(7000));
        CHECK(d.error == "POST /incidents: slow down");
    }
    HttpResponse no_answer;  // status 0: the connection failed
    CHECK(delivery_of_refusal(no_answer, "x").status == Status::transient);
    CHECK_FALSE(delivery_of_refusal(no_answer, "x").retry_after);
    for (const int status : {400, 401, 404, 410, 422}) {
        CAPTURE(status);
        HttpResponse refused = HttpResponse::json(status, "{}");
        refused.headers.set("Retry-After", "7");
        const Delivery d = delivery_of_refusal(refused, "x");
        CHECK(d.status == Status::permanent);
        CHECK_FALSE(d.retry_after);
    }
}
