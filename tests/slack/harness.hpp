#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <doctest/doctest.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "adapters/slack/slack_adapter.hpp"
#include "bot/clock.hpp"
#include "commands/router.hpp"
#include "envelopes.hpp"
#include "failing_store.hpp"
#include "fake_slack.hpp"
#include "run_async.hpp"
#include "storage/sqlite_store.hpp"
#include "test_certs.hpp"

namespace incident::testing {

struct SlackHarnessOptions {
    bool tls = false;
    bool socket_mode = true;     // false: no app token, the HTTP endpoints only
    std::string signing_secret;  // the HTTP endpoints' secret; empty: they answer 404
    bool manual_clock = false;   // `manual_clock` instead of the system's

    static SlackHarnessOptions over_tls() {
        SlackHarnessOptions o;
        o.tls = true;
        return o;
    }
    static SlackHarnessOptions with_manual_clock() {
        SlackHarnessOptions o;
        o.manual_clock = true;
        return o;
    }
    static SlackHarnessOptions http_only(std::string signing_secret) {
        SlackHarnessOptions o;
        o.socket_mode = false;
        o.signing_secret = std::move(signing_secret);
        return o;
    }
};

// One bot wired to one fake Slack, both on this io_context.
struct SlackHarness {
    boost::asio::io_context io;
    std::unique_ptr<net::testing::TestCertificates> certs;
    std::unique_ptr<FakeSlack> fake;
    SqliteStore store{":memory:"};
    // What the bot uses: `store`, with commits a test can make fail.
    FailingStore failing{store};
    SystemClock system_clock;
    ManualClock manual_clock{1'800'000'000'000};
    Clock& clock;
    IncidentService service;
    Outbox outbox;
    commands::CommandRouter router{service};
    std::optional<net::TlsContext> client_tls;
    slack::SlackOptions options;
    net::PlatformObserver* observer = nullptr;  // for make_adapter()
    std::unique_ptr<slack::SlackAdapter> adapter;

    explicit SlackHarness(SlackHarnessOptions o = {})
        : clock(o.manual_clock ? static_cast<Clock&>(manual_clock) : system_clock),
          service(failing, clock, ServiceOptions{"https://bot.example.com"}),
          outbox(failing, clock) {
        service.use_outbox(outbox);
        commands::register_builtin_commands(router);
        if (o.tls) {
            certs = std::make_unique<net::testing::TestCertificates>();
            fake = std::make_unique<FakeSlack>(io.get_executor(), certs->server_context());
            client_tls = certs->client_context();
        } else {
            fake = std::make_unique<FakeSlack>(io.get_executor());
            client_tls = net::testing::system_client_context();
        }
        options.bot_token = fake->bot_token;
        options.app_token = o.socket_mode ? fake->app_token : "";
        options.signing_secret = std::move(o.signing_secret);
        options.api_url = fake->api_url();
        options.reconnect = {std::chrono::milliseconds(20), std::chrono::milliseconds(200),
                             net::Jitter::full};
        // Effects that did not go through are tried again within a fraction of a second.
        options.outbox.backoff_base = std::chrono::milliseconds(20);
        options.outbox.backoff_cap = std::chrono::milliseconds(200);
        adapter = make_adapter();
    }

    // A new adapter with `options` as they are now (a test may change them first).
    std::unique_ptr<slack::SlackAdapter> make_adapter() {
        auto made = std::make_unique<slack::SlackAdapter>(io.get_executor(), *client_tls, service,
                                                          router, outbox, options, observer);
        made->api().set_retry_policy(3, std::chrono::milliseconds(20));
        return made;
    }

    boost::asio::awaitable<bool> acked(const std::string& envelope_id) {
        co_return co_await net::testing::wait_until(
            [&] {
                for (const auto& a : fake->acks) {
                    if (a.is_object() && a.value("envelope_id", "") == envelope_id) return true;
                }
                return false;
            },
            std::chrono::milliseconds(5000));
    }

    nlohmann::json ack_of(const std::string& envelope_id) {
        for (const auto& a : fake->acks) {
            if (a.is_object() && a.value("envelope_id", "") == envelope_id) return a;
        }
        return nlohmann::json();
    }

    // Every queued effect executed.
    boost::asio::awaitable<bool> idle() {
        const bool done = co_await net::testing::wait_until(
            [&] { return adapter->pending_effects() == 0; }, std::chrono::milliseconds(5000));
        if (!done) {
            std::string trace;
            for (const auto& c : fake->calls) trace += c.method + " " + c.args.dump() + "\n";
            MESSAGE("still pending: " << adapter->pending_effects() << "\ncalls:\n" << trace);
        }
        co_return done;
    }

    std::size_t messages(std::int64_t incident) {
        std::size_t n = 0;
        for (const auto& e : service.timeline(incident)) n += e.kind == EntryKind::message;
        return n;
    }

    // Declares INC-1 from #general and returns its new Slack channel id.
    boost::asio::awaitable<std::string> declare() {
        fake->deliver(
            slash_envelope("t-declare", "CGENERAL", "U1", "alice", "declare sev2 Checkout down"));
        REQUIRE(co_await acked("env-t-declare"));
        REQUIRE(co_await idle());
        const auto inc = service.find(1);
        REQUIRE(inc);
        co_return inc->channel_id;
    }
};

}  // namespace incident::testing
