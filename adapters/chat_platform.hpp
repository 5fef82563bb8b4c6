#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/http_types.hpp"
#include "adapters/net/tls_context.hpp"
#include "bot/config.hpp"
#include "bot/events.hpp"

namespace incident {

class IncidentService;
class Outbox;
namespace commands {
class CommandRouter;
}
namespace net {
class PlatformObserver;
}

// What the runtime gives every chat platform: one io_context, the domain, the durable outbox
// and the settings.
struct PlatformContext {
    boost::asio::any_io_executor executor;
    const net::TlsContext& tls;
    IncidentService& service;
    commands::CommandRouter& router;
    Outbox& outbox;
    const Config& config;
    net::PlatformObserver* observer = nullptr;
    // The local console was asked for, or no chat platform is configured.
    bool console = false;
    // Stops the bot gracefully, as SIGTERM does (the console at the end of its input).
    std::function<void(const char* why)> request_shutdown;
};

// One chat platform as the runtime sees it. Its events become the domain's events, stored
// before they are acknowledged; the effects they cause go out through the outbox (sink named
// after the platform) or, for the console, at once.
class ChatPlatform {
public:
    virtual ~ChatPlatform() = default;

    // Connects (sockets, workers) and begins taking events.
    virtual void start() = 0;
    virtual void stop() = 0;
    // Graceful shutdown, before stop(): no new events, what was taken is stored and
    // acknowledged, pending effects are delivered until `deadline`.
    virtual boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline) = 0;
    // An effect no event of this platform caused (reminders, alerts, the digest).
    virtual void deliver(const Effect& effect) = 0;
    // HTTP requests under /<name>/ (Slack's Events API, Mattermost's slash command).
    virtual boost::asio::awaitable<net::HttpResponse> handle_http(net::HttpRequest request) = 0;
    // Its entry in /healthz; never a token.
    virtual nlohmann::json health() const = 0;
};

// How the runtime finds a platform: bot/app/platforms.cpp lists one of these per platform.
struct PlatformRegistration {
    // The platform's name in incidents, its outbox sink, its /healthz key and its HTTP
    // prefix (/<name>/).
    std::string_view name;
    bool (*enabled)(const PlatformContext& context);
    std::unique_ptr<ChatPlatform> (*create)(const PlatformContext& context);
};

}  // namespace incident
