#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/asio/steady_timer.hpp>

#include "adapters/web/dashboard.hpp"
#include "adapters/web/metrics.hpp"
#include "fault_proxy.hpp"
#include "harness.hpp"
#include "log_capture.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// Where in the fake's call log the first call of `method` into `channel` is (SIZE_MAX: none),
// or the last one with `last`.
std::size_t call_index(const FakeSlack& fake, const std::string& method, const std::string& channel,
                       bool last = false) {
    std::size_t found = SIZE_MAX;
    for (std::size_t i = 0; i < fake.calls.size(); ++i) {
        const auto& c = fake.calls[i];
        if (c.method != method || c.args.value("channel", std::string()) != channel) continue;
        found = i;
        if (!last) break;
    }
    return found;
}

std::string text_of(const json& message) {
    const auto text = message.find("text");
    return text != message.end() && text->is_string() ? text->get<std::string>() : std::string();
}

// The outbox entry id in a message's (or a call's) metadata; empty without one.
std::string marker_of(const json& message) {
    const json metadata = message.value("metadata", json());
    if (!metadata.is_object()) return {};
    const json payload = metadata.value("event_payload", json());
    if (!payload.is_object() || !payload.contains("outbox_id") || !payload["outbox_id"].is_string())
        return {};
    return payload["outbox_id"].get<std::string>();
}

// chat.postMessage calls whose text has `phrase`, counted by the entry they were sent for.
std::map<std::string, int> post_calls_with(const FakeSlack& fake, const std::string& phrase) {
    std::map<std::string, int> out;
    for (const auto& call : fake.calls_of("chat.postMessage")) {
        if (text_of(call.args).find(phrase) != std::string::npos) ++out[marker_of(call.args)];
    }
    return out;
}

// The messages in the fake now, counted by the entry whose id they carry.
std::map<std::string, int> messages_by_entry(const FakeSlack& fake) {
    std::map<std::string, int> out;
    for (const auto& [ts, message] : fake.messages) ++out[marker_of(message)];
    return out;
}

// Each entry that posted `phrase` sent one chat.postMessage and made one message, and no
// entry made two messages.
void check_posted_once(const FakeSlack& fake, const std::string& phrase) {
    const auto calls = post_calls_with(fake, phrase);
    const auto made = messages_by_entry(fake);
    REQUIRE_FALSE(calls.empty());
    for (const auto& [entry, n] : calls) {
        CAPTURE(entry);
        CHECK_FALSE(entry.empty());
        CHECK(n == 1);
        CHECK(made.count(entry) == 1);
    }
    for (const auto& [entry, n] : made) {
        CAPTURE(entry);
        CHECK(n == 1);
    }
}

// The outbox entry whose id `message` carries in its metadata; checks the documented shape.
std::optional<OutboxEntry> entry_marked_in(Outbox& outbox, const json& message) {
    const json metadata = message.value("metadata", json());
    REQUIRE(metadata.is_object());
    CHECK(metadata.value("event_type", "") == "incident_bot_outbox");
    const json payload = metadata.value("event_payload", json());
    REQUIRE(payload.is_object());
    REQUIRE(payload.contains("outbox_id"));
    REQUIRE(payload["outbox_id"].is_string());
    return outbox.entry(std::stoll(payload["outbox_id"].get<std::string>()));
}

json protocol_fixture(const std::string& name) {
    const std::filesystem::path path =
        std::filesystem::path(INCIDENT_BOT_PROTOCOL_DIR) / "slack" / "fixtures" / name;
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), path.string());
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
}

class MetricsObserver final : public net::PlatformObserver {
public:
    explicit MetricsObserver(web::Metrics& metrics) : metrics_(metrics) {}
    void outbox_failed(std::string_view sink, std::string_view kind) override {
        metrics_.outbox_failed(sink, kind);
    }

private:
    web::Metrics& metrics_;
};

}  // namespace

// How long Slack is out in the outage test: 500s for the first half, then no connection at all.
// The issue asks for 30 s; the switches are timed, every assertion waits for what it checks.
constexpr milliseconds k_outage{30'000};

TEST_CASE(
    "slack outbox: Slack answers 500, then refuses connections, for 30 s during a declare: "
    "every effect is delivered after it recovers, in order") {
    SlackHarness h;
    FaultProxy proxy(h.io.get_executor(), h.fake->port());
    h.options.api_url = proxy.url() + "/api/";
    h.adapter = h.make_adapter();
    h.adapter->start();
    // What the outbox said at each switch of the outage, and where the call log stood.
    struct Moment {
        bool reached = false;
        int attempts = 0;
        std::string error;
        bool channel_bound = false;
        std::size_t calls = 0;
    };
    Moment refused_at, recovered_at;
    const auto note = [&](Moment& moment) {
        const auto pending = h.outbox.pending("slack");
        moment.reached = true;
        moment.attempts = pending.empty() ? 0 : pending.front().attempts;
        moment.error = pending.empty() ? std::string() : pending.front().error;
        moment.channel_bound = !h.service.find(1)->channel_id.empty();
        moment.calls = h.fake->calls.size();
    };
    asio::steady_timer half_time(h.io), end_of_outage(h.io);
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            REQUIRE(co_await wait_until([&] { return h.adapter->socket_connected(); },
                                        milliseconds(5000)));
            for (const char* method :
                 {"conversations.create", "conversations.invite", "conversations.setTopic",
                  "chat.postMessage", "conversations.list"}) {
                h.fake->server_errors[method] = 1'000'000;
            }
            const auto outage_started = std::chrono::steady_clock::now();
            half_time.expires_after(k_outage / 2);
            half_time.async_wait([&](const boost::system::error_code& ec) {
                if (ec) return;
                note(refused_at);
                proxy.refuse_connections();
                h.fake->server_errors.clear();
            });
            end_of_outage.expires_after(k_outage);
            end_of_outage.async_wait([&](const boost::system::error_code& ec) {
                if (ec) return;
                note(recovered_at);
                proxy.accept_again();
            });
            h.fake->deliver(slash_envelope("t-declare", "CGENERAL", "U1", "alice",
                                           "declare sev2 Checkout down"));
            // Events are stored and acked while effects wait: Slack's outage is not ours.
            REQUIRE(co_await h.acked("env-t-declare"));
            REQUIRE(co_await wait_until([&] { return recovered_at.reached; }, k_outage * 2));
            // Slack is back: everything goes out, in the order it was decided.
            REQUIRE(co_await wait_until([&] { return h.adapter->pending_effects() == 0; },
                                        milliseconds(20'000)));
            const auto took = std::chrono::duration_cast<milliseconds>(
                std::chrono::steady_clock::now() - outage_started);
            MESSAGE("every effect delivered " << took.count() << " ms after the outage began");
            CHECK(took >= k_outage);

            // While it lasted the channel creation was tried again and again, first refused
            // with 500s, then without any answer.
            CHECK(refused_at.attempts >= 3);
            CHECK(refused_at.error.find("conversations.create") != std::string::npos);
            CHECK(refused_at.error.find("HTTP 500") != std::string::npos);
            CHECK(recovered_at.attempts > refused_at.attempts);
            CHECK(recovered_at.error.find("conversations.create") != std::string::npos);
            CHECK(recovered_at.error.find("HTTP") == std::string::npos);
            CHECK_FALSE(refused_at.channel_bound);
            CHECK_FALSE(recovered_at.channel_bound);

            const auto inc = h.service.find(1);
            REQUIRE(inc);
            REQUIRE_FALSE(inc->channel_id.empty());
            int incident_channels = 0;
            for (const auto& [id, name] : h.fake->channel_names) {
                incident_channels += name.starts_with("inc-1-");
            }
            CHECK(incident_channels == 1);
            CHECK(inc->channel_name == "inc-1-checkout-down-2");
            std::string announcements;
            for (const auto& [id, name] : h.fake->channel_names) {
                if (name == "incidents") announcements = id;
            }
            REQUIRE_FALSE(announcements.empty());
            std::size_t created = SIZE_MAX;  // the creation that went through: the last one
            for (std::size_t i = 0; i < h.fake->calls.size(); ++i) {
                if (h.fake->calls[i].method == "conversations.create") created = i;
            }
            const std::size_t summary =
                call_index(*h.fake, "chat.postMessage", inc->channel_id, true);
            const std::size_t topic =
                call_index(*h.fake, "conversations.setTopic", inc->channel_id, true);
            const std::size_t invite =
                call_index(*h.fake, "conversations.invite", inc->channel_id, true);
            const std::size_t announced = call_index(*h.fake, "chat.postMessage", announcements);
            REQUIRE(summary != SIZE_MAX);
            REQUIRE(announced != SIZE_MAX);
            REQUIRE(created != SIZE_MAX);
            CHECK(created >= recovered_at.calls);  // nothing went through before the end
            CHECK(invite < topic);
            CHECK(topic < summary);
            CHECK(summary < announced);  // the incident's effects in order
            CHECK(h.fake->posted_in(inc->channel_id).size() == 1);
            CHECK(h.fake->posted_in(announcements).size() == 1);
            CHECK(h.outbox.failed().empty());
            h.adapter->stop();
        },
        k_outage * 3);
    CHECK(finished);
}

TEST_CASE("slack outbox: channel_not_found is kept as failed, shown, counted, and Retry delivers") {
    SlackHarness h;
    web::Metrics metrics;
    MetricsObserver observer(metrics);
    h.observer = &observer;
    // An announcement channel given by id that Slack does not know.
    h.options.announce_channel = "C0GONE0000";
    h.adapter = h.make_adapter();
    web::DashboardOptions dashboard_options;
    dashboard_options.outbox = &h.outbox;
    dashboard_options.outbox_retried = [&] { h.adapter->wake_outbox(); };
    web::Dashboard dashboard(h.service, metrics, dashboard_options);
    const auto get = [&](const std::string& target) {
        return dashboard.handle(web::WebRequest{"GET", target, {}, {}, "127.0.0.1:1"});
    };
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());

        const auto failed = h.outbox.failed();
        REQUIRE(failed.size() == 1);
        const OutboxEntry& entry = failed[0];
        CHECK(entry.kind == "post");
        CHECK(entry.incident == 1);
        CHECK(entry.error == "chat.postMessage: channel_not_found");
        CHECK(h.fake->calls_of("chat.postMessage").size() == 2);  // summary, announcement: once

        const auto health = json::parse(get("/healthz").body);
        CHECK(health["status"] == "degraded");
        CHECK(health["checks"]["outbox"]["failed"] == 1);
        CHECK(health["checks"]["outbox"]["degraded"] == true);
        const std::string scraped = get("/metrics").body;
        CHECK(
            scraped.find("incident_bot_outbox_failed_total{platform=\"slack\",kind=\"post\"} 1") !=
            std::string::npos);
        CHECK(scraped.find("incident_bot_outbox_pending 0") != std::string::npos);
        CHECK(scraped.find("incident_bot_outbox_oldest_seconds 0") != std::string::npos);
        const std::string page = get("/outbox").body;
        CHECK(page.find("chat.postMessage: channel_not_found") != std::string::npos);
        CHECK(page.find("INC-1") != std::string::npos);
        const std::string action = "action=\"/outbox/" + std::to_string(entry.id) + "/retry\"";
        CHECK(page.find(action) != std::string::npos);
        CHECK(get("/outbox/" + std::to_string(entry.id) + "/retry").status == 405);

        // The channel exists now; Retry delivers the post once.
        h.fake->channel_names["C0GONE0000"] = "incidents";
        const auto retried = dashboard.handle(web::WebRequest{
            "POST", "/outbox/" + std::to_string(entry.id) + "/retry", {}, {}, "127.0.0.1:1"});
        CHECK(retried.status == 303);
        REQUIRE(co_await h.idle());
        CHECK(h.fake->posted_in("C0GONE0000").size() == 2);  // refused once, then delivered
        CHECK(h.outbox.failed().empty());
        CHECK(json::parse(get("/healthz").body)["status"] == "ok");
        // A second Retry of the same entry finds nothing to retry.
        CHECK(dashboard
                  .handle(web::WebRequest{"POST",
                                          "/outbox/" + std::to_string(entry.id) + "/retry",
                                          {},
                                          {},
                                          "127.0.0.1:1"})
                  .status == 404);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack outbox: every post carries its entry's id as message metadata, and a first attempt "
    "reads nothing back") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        h.fake->deliver(
            slash_envelope("t-update", channel, "U1", "alice", "update rolling back the deploy"));
        REQUIRE(co_await h.acked("env-t-update"));
        REQUIRE(co_await h.idle());

        // The summary, the announcement, the update: each once, each marked with its entry.
        const auto posts = h.fake->calls_of("chat.postMessage");
        REQUIRE(posts.size() >= 3);
        std::set<std::int64_t> entries;
        std::set<std::string> kinds;
        for (const auto& call : posts) {
            CAPTURE(call.args.dump());
            const auto entry = entry_marked_in(h.outbox, call.args);
            REQUIRE(entry);
            CHECK(entry->status == OutboxStatus::delivered);
            entries.insert(entry->id);
            kinds.insert(entry->kind);
        }
        CHECK(entries.size() == posts.size());
        CHECK(kinds == std::set<std::string>{"create_channel", "post"});  // the summary, posts
        CHECK(h.fake->messages.size() == posts.size());
        check_posted_once(*h.fake, "rolling back the deploy");
        CHECK(h.fake->count("conversations.history") == 0);
        // The summary is where the live message says, and pinned there.
        const auto live = h.service.live_message(1, "slack");
        REQUIRE(live);
        CHECK(h.fake->messages.count(live->message_id) == 1);
        CHECK(h.fake->pinned.count(channel + "/" + live->message_id) == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack outbox: a message Slack made although the connection dropped unanswered is found by "
    "its metadata on the retry, and appears once") {
    LogCapture log;
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const std::size_t reads_before = h.fake->count("conversations.history");

        // The next post is made, then the connection closes without an answer.
        h.fake->lost_answers["chat.postMessage"] = 1;
        h.fake->deliver(
            slash_envelope("t-update", channel, "U1", "alice", "update rolling back the deploy"));
        REQUIRE(co_await h.acked("env-t-update"));
        REQUIRE(co_await h.idle());
        REQUIRE(h.fake->lost_calls == 1);

        // Every destination has the update once, and nothing was posted twice: the retry
        // read the channel's recent messages, found the marker and stopped there.
        check_posted_once(*h.fake, "rolling back the deploy");
        REQUIRE(h.fake->count("conversations.history") == reads_before + 1);
        const auto read = h.fake->calls_of("conversations.history").back();
        CHECK(read.args.value("include_all_metadata", "") == "true");
        CHECK(std::stoi(read.args.value("limit", "0")) <= 100);
        CHECK(log.contains("was made by an earlier attempt whose answer was lost"));
        for (const auto& [ts, message] : h.fake->messages) {
            const auto entry = entry_marked_in(h.outbox, message);
            REQUIRE(entry);
            CHECK(entry->status == OutboxStatus::delivered);
        }
        CHECK(h.outbox.failed().empty());
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack outbox: a summary whose answer was lost is adopted: its ts is the live message, "
    "pinned and updated in place") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        // The first post of the declare is the summary in the new channel.
        h.fake->lost_answers["chat.postMessage"] = 1;
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        REQUIRE(h.fake->lost_calls == 1);
        const auto in_channel = h.fake->messages_in(channel);
        REQUIRE(in_channel.size() == 1);
        CHECK(h.fake->posted_in(channel).size() == 1);
        CHECK(h.fake->count("conversations.history") == 1);
        const std::string ts = in_channel[0].value("ts", "");
        const auto live = h.service.live_message(1, "slack");
        REQUIRE(live);
        CHECK(live->message_id == ts);
        CHECK(live->channel_id == channel);
        CHECK(h.fake->pinned.count(channel + "/" + ts) == 1);

        // A change of state updates that message, not a new one.
        h.fake->deliver(slash_envelope("t-state", channel, "U1", "alice", "status identified"));
        REQUIRE(co_await h.acked("env-t-state"));
        REQUIRE(co_await h.idle());
        int summary_updates = 0;
        for (const auto& update : h.fake->calls_of("chat.update")) {
            summary_updates += update.args.value("ts", "") == ts;
        }
        CHECK(summary_updates >= 1);
        CHECK(h.fake->messages_in(channel).size() == 1);
        CHECK(h.fake->messages.at(ts).dump().find("identified") != std::string::npos);
        CHECK(h.outbox.failed().empty());
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack outbox: a message whose answer was lost before a restart is found by its metadata "
    "after it, and appears once") {
    SlackHarness h;
    h.adapter->start();
    std::unique_ptr<slack::SlackAdapter> first;
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());

        // The post is made and its answer lost; this process cannot read the channel back
        // (500s), so it neither finds the message nor posts it again before it stops.
        h.fake->lost_answers["chat.postMessage"] = 1;
        h.fake->server_errors["conversations.history"] = 1'000'000;
        h.fake->deliver(
            slash_envelope("t-update", channel, "U1", "alice", "update rolling back the deploy"));
        REQUIRE(co_await h.acked("env-t-update"));
        REQUIRE(co_await wait_until(
            [&] {
                const auto pending = h.outbox.pending("slack");
                return !pending.empty() && pending.front().kind == "post" &&
                       pending.front().attempts >= 2;
            },
            milliseconds(8000)));
        REQUIRE(h.fake->lost_calls == 1);
        CHECK(post_calls_with(*h.fake, "rolling back the deploy").size() == 1);
        CHECK(h.fake->count("conversations.history") >= 1);
        first = std::move(h.adapter);
        first->stop();
        REQUIRE(co_await wait_until([&] { return !first->delivering(); }, milliseconds(5000)));

        // Another process on the same database: it knows from the entry that the call may
        // have gone out, looks, and finds it.
        h.fake->server_errors.clear();
        h.adapter = h.make_adapter();
        h.adapter->start();
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        REQUIRE(co_await h.idle());
        check_posted_once(*h.fake, "rolling back the deploy");
        CHECK(h.outbox.pending("slack").empty());
        CHECK(h.outbox.failed().empty());
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("slack outbox: a direct message whose answer was lost is found in the IM and sent once") {
    SlackHarness h;
    REQUIRE(h.fake->scopes.count("im:history"));
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        h.fake->lost_answers["chat.postMessage"] = 1;
        PostMessage dm{ToUser{Actor{"U2", "bob"}}, "you were paged for INC-1"};
        h.adapter->deliver(dm);
        REQUIRE(co_await h.idle());
        REQUIRE(h.fake->lost_calls == 1);
        const std::string im = h.fake->ims.at("U2");
        CHECK(h.fake->messages_in(im).size() == 1);
        CHECK(h.fake->count("conversations.history") == 1);
        CHECK(h.outbox.pending("slack").empty());
        CHECK(h.outbox.failed().empty());
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack outbox: a direct message whose answer was lost is posted again when its IM cannot "
    "be read (no im:history): a repeat, never a loss") {
    LogCapture log;
    SlackHarness h;
    h.fake->drop_scope("im:history");
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        h.fake->lost_answers["chat.postMessage"] = 1;
        PostMessage dm{ToUser{Actor{"U2", "bob"}}, "you were paged for INC-1"};
        h.adapter->deliver(dm);
        REQUIRE(co_await h.idle());
        REQUIRE(h.fake->lost_calls == 1);
        const std::string im = h.fake->ims.at("U2");
        CHECK(h.fake->messages_in(im).size() == 2);
        CHECK(h.fake->count("conversations.history") == 1);
        CHECK(log.contains("cannot look for outbox entry"));
        CHECK(h.outbox.failed().empty());
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "fake slack: chat.postMessage takes the documented metadata and no other shape, "
    "conversations.history answers the documented fields, with metadata only when asked") {
    SlackHarness h;
    const json documented = protocol_fixture("web_chat_postMessage_metadata.docs.json");
    const json history_doc = protocol_fixture("web_conversations_history_ok.docs.json");
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        slack::WebApi& api = h.adapter->api();
        json body = documented;
        body["channel"] = "CGENERAL";
        const slack::ApiResult posted = co_await api.call("chat.postMessage", body);
        REQUIRE(posted.ok);
        const std::string ts = posted.body.value("ts", "");
        // As a form body: a JSON-encoded string.
        net::FormFields form{
            {"channel", "CGENERAL"}, {"text", "form"}, {"metadata", documented["metadata"].dump()}};
        CHECK((co_await api.call_form("chat.postMessage", form)).ok);
        json bad = body;
        bad["metadata"] = "not json";
        CHECK((co_await api.call("chat.postMessage", bad)).error == "invalid_metadata_format");
        bad["metadata"] = json{{"event_type", "customer_created"}};
        CHECK((co_await api.call("chat.postMessage", bad)).error == "invalid_metadata_schema");
        bad["metadata"] = json{{"event_payload", json::object()}};
        CHECK((co_await api.call("chat.postMessage", bad)).error == "invalid_metadata_schema");
        CHECK(h.fake->messages_in("CGENERAL").size() == 2);

        net::FormFields plain{{"channel", "CGENERAL"}, {"limit", "1"}};
        const slack::ApiResult without = co_await api.call_form("conversations.history", plain);
        REQUIRE(without.ok);
        std::set<std::string> ours, theirs;
        for (const auto& [key, value] : without.body.items()) ours.insert(key);
        for (const auto& [key, value] : history_doc.items()) theirs.insert(key);
        CHECK(ours == theirs);
        // Newest first, one of two, more after it; no metadata unless asked for.
        REQUIRE(without.body["messages"].size() == 1);
        CHECK(without.body["messages"][0]["text"] == "form");
        CHECK_FALSE(without.body["messages"][0].contains("metadata"));
        CHECK(without.body["has_more"] == true);
        const std::string cursor =
            without.body["response_metadata"]["next_cursor"].get<std::string>();
        REQUIRE_FALSE(cursor.empty());
        net::FormFields next{{"channel", "CGENERAL"},
                             {"limit", "1"},
                             {"cursor", cursor},
                             {"include_all_metadata", "true"}};
        const slack::ApiResult with = co_await api.call_form("conversations.history", next);
        REQUIRE(with.ok);
        REQUIRE(with.body["messages"].size() == 1);
        CHECK(with.body["messages"][0]["ts"] == ts);
        CHECK(with.body["messages"][0]["metadata"] == documented["metadata"]);
        CHECK(with.body["has_more"] == false);
        // `oldest` leaves out what came before it.
        net::FormFields later{{"channel", "CGENERAL"}, {"oldest", ts}};
        const slack::ApiResult after = co_await api.call_form("conversations.history", later);
        REQUIRE(after.ok);
        CHECK(after.body["messages"].size() == 1);
        // Reading needs the history scope.
        h.fake->drop_scope("channels:history");
        CHECK((co_await api.call_form("conversations.history", plain)).error == "missing_scope");
    });
    CHECK(finished);
}
