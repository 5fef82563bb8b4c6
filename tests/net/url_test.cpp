#include "adapters/net/url.hpp"

#include <doctest/doctest.h>

using incident::net::Scheme;
using incident::net::Url;

TEST_CASE("url: https with path") {
    const auto url = Url::parse("https://slack.com/api/chat.postMessage");
    REQUIRE(url);
    CHECK(url->scheme == Scheme::https);
    CHECK(url->host == "slack.com");
    CHECK(url->port == 443);
    CHECK(url->target == "/api/chat.postMessage");
    CHECK(url->tls());
    CHECK_FALSE(url->websocket());
    CHECK(url->host_header() == "slack.com");
}

TEST_CASE("url: Socket Mode wss URL keeps its query") {
    const auto url = Url::parse("wss://wss-primary.slack.com/link/?ticket=1234-5678&app_id=5678");
    REQUIRE(url);
    CHECK(url->scheme == Scheme::wss);
    CHECK(url->port == 443);
    CHECK(url->target == "/link/?ticket=1234-5678&app_id=5678");
    CHECK(url->websocket());
    CHECK(url->tls());
}

TEST_CASE("url: defaults and explicit ports") {
    auto url = Url::parse("http://127.0.0.1:8065");
    REQUIRE(url);
    CHECK(url->host == "127.0.0.1");
    CHECK(url->port == 8065);
    CHECK(url->target == "/");
    CHECK(url->host_header() == "127.0.0.1:8065");
    CHECK(url->host_is_ip());

    url = Url::parse("ws://mm.example.org/api/v4/websocket");
    REQUIRE(url);
    CHECK(url->port == 80);
    CHECK_FALSE(url->tls());
    CHECK_FALSE(url->host_is_ip());

    url = Url::parse("https://a.example:443/x");
    REQUIRE(url);
    CHECK(url->host_header() == "a.example");
    CHECK(url->to_string() == "https://a.example/x");
}

TEST_CASE("url: IPv6 literal") {
    const auto url = Url::parse("ws://[::1]:8080/api/v4/websocket");
    REQUIRE(url);
    CHECK(url->host == "::1");
    CHECK(url->port == 8080);
    CHECK(url->host_is_ip());
    CHECK(url->host_header() == "[::1]:8080");
    CHECK(url->to_string() == "ws://[::1]:8080/api/v4/websocket");
}

TEST_CASE("url: scheme and host are case-insensitive, encoding and fragment") {
    const auto url = Url::parse("HTTPS://Hooks.Slack.COM/commands/T1/2/x?a=b%20c#frag");
    REQUIRE(url);
    CHECK(url->scheme == Scheme::https);
    CHECK(url->host == "hooks.slack.com");
    CHECK(url->target == "/commands/T1/2/x?a=b%20c");
}

TEST_CASE("url: rejects what a connection cannot use, saying why") {
    std::string error;
    CHECK_FALSE(Url::parse("ftp://example.com/", &error));
    CHECK(error.find("scheme") != std::string::npos);
    CHECK_FALSE(Url::parse("not a url", &error));
    CHECK_FALSE(Url::parse("/relative/path", &error));
    CHECK_FALSE(Url::parse("http://example.com:99999/", &error));
    CHECK(error.find("port") != std::string::npos);
    CHECK_FALSE(Url::parse("http://example.com:0/", &error));
    CHECK_FALSE(Url::parse("http:///path-only", &error));
    CHECK(error.find("host") != std::string::npos);
    CHECK_FALSE(Url::parse("", &error));
}
