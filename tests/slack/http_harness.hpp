#pragma once

#include <optional>
#include <string>

#include "adapters/net/form.hpp"
#include "adapters/net/http_client.hpp"
#include "adapters/net/http_server.hpp"
#include "adapters/slack/signing.hpp"
#include "harness.hpp"

namespace incident::testing {

// The bot's Slack HTTP endpoints (no Socket Mode) behind a server on loopback, and a client
// that signs what it posts as Slack does.
struct HttpHarness : SlackHarness {
    std::string secret = "8f742231b10e8888abcd99yyyzzz85a5";
    net::HttpServer server;
    net::HttpClient client;

    HttpHarness()
        : SlackHarness(SlackHarnessOptions::http_only("8f742231b10e8888abcd99yyyzzz85a5")),
          server(
              io.get_executor(),
              [this](net::HttpRequest r) { return adapter->handle_http(std::move(r)); },
              net::HttpServerOptions{.body_limit = 64 * 1024}),
          client(io.get_executor(), net::testing::system_client_context()) {
        REQUIRE(server.listen("127.0.0.1:0").ok());
    }

    boost::asio::awaitable<net::HttpResponse> post(
        const std::string& path, const std::string& body, const std::string& content_type,
        std::optional<std::int64_t> ts = std::nullopt,
        std::optional<std::string> signature = std::nullopt) {
        net::HttpRequest r;
        r.method = "POST";
        r.url = "http://127.0.0.1:" + std::to_string(server.port()) + path;
        r.headers.set("Content-Type", content_type);
        r.body = body;
        const std::string stamp = std::to_string(ts.value_or(clock.now() / 1000));
        r.headers.set("X-Slack-Request-Timestamp", stamp);
        r.headers.set("X-Slack-Signature",
                      signature.value_or(slack::sign_request(secret, stamp, body)));
        co_return co_await client.request(std::move(r));
    }
};

inline std::string form_of(const nlohmann::json& payload) {
    net::FormFields fields;
    for (const auto& [k, v] : payload.items()) fields.emplace_back(k, v.get<std::string>());
    return net::encode_form(fields);
}

// A signed /slack/interactive request body: the payload as Slack sends it, a form field.
inline std::string interactive_form(const nlohmann::json& payload) {
    const net::FormFields fields{{"payload", payload.dump()}};
    return net::encode_form(fields);
}

}  // namespace incident::testing
