#include <doctest/doctest.h>

#include "bot/outbox.hpp"
#include "bot/reconcile.hpp"
#include "fixture.hpp"

// The outbox seen from the domain: entries written with the change, workers woken only
// after it committed, and incidents left without a channel repaired.
using namespace incident;
using incident::testing::Bot;

namespace {

// A bot whose effects for the platform "test" go through an outbox, as Slack's do.
struct OutboxBot {
    Bot bot;
    Outbox outbox{bot.store, bot.clock};
    int wakes = 0;
    int requests = 0;

    OutboxBot() {
        outbox.add_chat_sink("test", [this] { ++wakes; });
        bot.service.use_outbox(outbox);
    }

    // A command whose effects stay in the outbox: no worker delivers them here.
    Outcome command(const std::string& text, const std::string& channel = "general") {
        CommandRequest request{"out-" + std::to_string(++requests), "test", channel,        channel,
                               Actor{"U-alice", "alice"},           text,   bot.clock.now()};
        return bot.router.dispatch(request);
    }

    std::vector<OutboxEntry> creations() {
        std::vector<OutboxEntry> out;
        for (const auto& e : outbox.pending("test")) {
            if (e.kind == "create_channel") out.push_back(e);
        }
        return out;
    }
};

}  // namespace

TEST_CASE("outbox: a declare's effects are written with it, and its sink is woken once") {
    OutboxBot b;
    REQUIRE(b.command("declare sev2 Checkout down").reply.ok);
    const auto pending = b.outbox.pending("test");
    REQUIRE(pending.size() >= 2);
    CHECK(pending[0].kind == "create_channel");
    CHECK(pending[0].incident == 1);
    CHECK(b.wakes == 1);
    // Nothing new written: nobody to wake.
    b.outbox.wake_written();
    CHECK(b.wakes == 1);
}

TEST_CASE("outbox: a refused command writes nothing and wakes nobody") {
    OutboxBot b;
    REQUIRE(b.command("declare sev2 Checkout down").reply.ok);
    const std::size_t before = b.outbox.pending("test").size();
    const int wakes = b.wakes;
    // Not an incident channel: refused, rolled back.
    CHECK_FALSE(b.command("status mitigated", "general").reply.ok);
    CHECK(b.outbox.pending("test").size() == before);
    CHECK(b.wakes == wakes);
}

TEST_CASE("outbox: an open incident without a channel or a pending creation gets one again") {
    OutboxBot b;
    REQUIRE(b.command("declare sev2 Checkout down").reply.ok);
    // Its creation is still pending: nothing to repair.
    CHECK(requeue_missing_channels(b.bot.service, b.bot.store, b.outbox) == 0);
    REQUIRE(b.creations().size() == 1);

    // The entry is gone (delivered before a crash that lost the binding, or pruned).
    OutboxEntry lost = b.creations().front();
    lost.status = OutboxStatus::delivered;
    lost.done_at = b.bot.clock.now();
    b.outbox.save(lost);
    const int wakes = b.wakes;
    CHECK(requeue_missing_channels(b.bot.service, b.bot.store, b.outbox) == 1);
    CHECK(b.wakes == wakes + 1);
    const auto again = b.creations();
    REQUIRE(again.size() == 1);
    CHECK(again[0].incident == 1);
    const auto effect = effect_from_json(again[0].payload);
    REQUIRE(effect);
    const auto& create = std::get<CreateChannel>(*effect);
    CHECK(create.name == b.bot.service.find(1)->channel_name);
    REQUIRE(create.invite.size() == 1);
    CHECK(create.invite[0].id == "U-alice");
    CHECK(create.topic.find("SEV2") != std::string::npos);
    // Queued once: the next pass finds it pending.
    CHECK(requeue_missing_channels(b.bot.service, b.bot.store, b.outbox) == 0);

    // A failed creation is left to the operator's Retry.
    OutboxEntry refused = again[0];
    refused.status = OutboxStatus::failed;
    refused.done_at = b.bot.clock.now();
    b.outbox.save(refused);
    CHECK(requeue_missing_channels(b.bot.service, b.bot.store, b.outbox) == 0);
}

TEST_CASE("outbox: incidents with a channel, not open, or on a platform without outbox are left") {
    OutboxBot b;
    REQUIRE(b.command("declare sev2 Has a channel").reply.ok);
    b.bot.service.bind_channel(1, "test", "C1", "inc-1-has-a-channel");
    REQUIRE(b.command("declare sev3 Resolved already").reply.ok);
    b.bot.service.bind_channel(2, "test", "C2", "inc-2-resolved-already");
    REQUIRE(b.command("resolve fixed", "C2").reply.ok);
    b.bot.service.bind_channel(2, "test", "", "inc-2-resolved-already");
    // Declared where the outbox does not deliver (the console).
    const CommandRequest console{"console-1",
                                 "console",
                                 "console",
                                 "console",
                                 Actor{"U-bob", "bob"},
                                 "declare sev4 On the console",
                                 b.bot.clock.now()};
    REQUIRE(b.bot.router.dispatch(console).reply.ok);
    for (auto entry : b.outbox.pending("test")) {
        entry.status = OutboxStatus::delivered;
        entry.done_at = b.bot.clock.now();
        b.outbox.save(entry);
    }
    CHECK(requeue_missing_channels(b.bot.service, b.bot.store, b.outbox) == 0);
    CHECK(b.creations().empty());
}

TEST_CASE("outbox: a posted live summary with no refresh waiting gets one, once per pass") {
    OutboxBot b;
    REQUIRE(b.command("declare sev2 Checkout down").reply.ok);
    b.bot.service.bind_channel(1, "test", "C1", "inc-1-checkout-down");
    REQUIRE(b.command("declare sev3 No summary posted").reply.ok);
    b.bot.service.bind_channel(2, "test", "C2", "inc-2-no-summary-posted");
    const auto summaries = [&] {
        int n = 0;
        for (const auto& e : b.outbox.pending("test")) n += e.kind == "summary";
        return n;
    };
    const auto deliver_all = [&] {
        for (auto entry : b.outbox.pending("test")) {
            entry.status = OutboxStatus::delivered;
            entry.done_at = b.bot.clock.now();
            b.outbox.save(entry);
        }
    };
    deliver_all();
    // No summary was posted yet: nothing to keep current.
    CHECK(requeue_summary_refreshes(b.bot.store, b.outbox) == 0);

    b.bot.store.save_live_message(
        LiveMessage{1, "test", "summary", "C1", "1800000000.000100", "{}", b.bot.clock.now()});
    b.bot.store.save_live_message(
        LiveMessage{2, "test", "summary", "C2", "1800000000.000200", "{}", b.bot.clock.now()});
    REQUIRE(b.command("resolve fixed", "C2").reply.ok);
    deliver_all();
    const int wakes = b.wakes;
    // Incident 1 is open with a summary: one refresh. Incident 2 is resolved: none.
    CHECK(requeue_summary_refreshes(b.bot.store, b.outbox) == 1);
    CHECK(b.wakes == wakes + 1);
    REQUIRE(summaries() == 1);
    CHECK(b.outbox.pending("test").front().incident == 1);
    // The refresh waits: the next pass adds none.
    CHECK(requeue_summary_refreshes(b.bot.store, b.outbox) == 0);
    CHECK(summaries() == 1);

    // A refresh the platform refused stays for the operator's Retry.
    OutboxEntry refused = b.outbox.pending("test").front();
    refused.status = OutboxStatus::failed;
    refused.done_at = b.bot.clock.now();
    b.outbox.save(refused);
    CHECK(requeue_summary_refreshes(b.bot.store, b.outbox) == 0);
}

TEST_CASE(
    "outbox: a channel topic whose last delivered topic is not the incident's gets one again, "
    "once") {
    OutboxBot b;
    REQUIRE(b.command("declare sev2 Checkout down").reply.ok);
    const auto deliver_all = [&] {
        for (auto entry : b.outbox.pending("test")) {
            entry.status = OutboxStatus::delivered;
            entry.done_at = b.bot.clock.now();
            b.outbox.save(entry);
        }
    };
    const auto topics = [&] {
        std::vector<std::string> out;
        for (const auto& e : b.outbox.pending("test")) {
            if (e.kind != "topic") continue;
            const auto effect = effect_from_json(e.payload);
            REQUIRE(effect);
            out.push_back(std::get<SetTopic>(*effect).topic);
        }
        return out;
    };
    // The creation is pending: it sets the topic of its moment.
    CHECK(requeue_stale_topics(b.bot.service, b.bot.store, b.outbox) == 0);
    deliver_all();
    b.bot.service.bind_channel(1, "test", "C1", "inc-1-checkout-down");
    // The channel got the topic it was created with, and the incident still has it.
    CHECK(requeue_stale_topics(b.bot.service, b.bot.store, b.outbox) == 0);

    // The severity, state and commander change; their topic effects are lost (removed before
    // delivery, as by a version that kept effects in memory).
    REQUIRE(b.command("sev 1", "C1").reply.ok);
    REQUIRE(b.command("status identified", "C1").reply.ok);
    REQUIRE(b.command("role commander", "C1").reply.ok);
    REQUIRE_FALSE(topics().empty());
    for (auto entry : b.outbox.pending("test")) {
        if (entry.kind != "topic") continue;
        entry.status = OutboxStatus::failed;
        entry.done_at = b.bot.clock.now();
        b.outbox.save(entry);
    }
    // Failed ones are the operator's Retry: nothing queued over them.
    CHECK(requeue_stale_topics(b.bot.service, b.bot.store, b.outbox) == 0);
    // Gone from the outbox altogether (removed by hand, pruned long ago).
    for (auto entry : b.outbox.failed()) {
        entry.status = OutboxStatus::delivered;
        entry.done_at = 1;
        b.outbox.save(entry);
    }
    REQUIRE(b.bot.store.prune_outbox(2, 100) == 3);
    deliver_all();

    const std::string now = b.bot.service.topic_for(*b.bot.service.find(1));
    CHECK(now.find("SEV1") != std::string::npos);
    CHECK(now.find("identified") != std::string::npos);
    const int wakes = b.wakes;
    CHECK(requeue_stale_topics(b.bot.service, b.bot.store, b.outbox) == 1);
    CHECK(b.wakes == wakes + 1);
    REQUIRE(topics() == std::vector<std::string>{now});
    // It waits: the next pass adds none; delivered, it is the topic the channel has.
    CHECK(requeue_stale_topics(b.bot.service, b.bot.store, b.outbox) == 0);
    deliver_all();
    CHECK(requeue_stale_topics(b.bot.service, b.bot.store, b.outbox) == 0);
    CHECK(topics().empty());

    // Resolved, its topic still follows; closed, it is left alone.
    REQUIRE(b.command("resolve fixed", "C1").reply.ok);
    for (auto entry : b.outbox.pending("test")) {
        if (entry.kind != "topic") continue;
        entry.status = OutboxStatus::delivered;
        entry.done_at = 1;
        b.outbox.save(entry);
    }
    REQUIRE(b.bot.store.prune_outbox(2, 100) == 1);
    deliver_all();
    CHECK(requeue_stale_topics(b.bot.service, b.bot.store, b.outbox) == 1);
    REQUIRE(topics().size() == 1);
    CHECK(topics()[0].find("resolved") != std::string::npos);
}

TEST_CASE("outbox: stale topics are looked for only where the outbox delivers, with a channel") {
    OutboxBot b;
    REQUIRE(b.command("declare sev2 No channel yet").reply.ok);
    const CommandRequest console{"console-1",
                                 "console",
                                 "console",
                                 "console",
                                 Actor{"U-bob", "bob"},
                                 "declare sev4 On the console",
                                 b.bot.clock.now()};
    REQUIRE(b.bot.router.dispatch(console).reply.ok);
    b.bot.service.bind_channel(2, "console", "console", "inc-2-on-the-console");
    for (auto entry : b.outbox.pending("test")) {
        entry.status = OutboxStatus::delivered;
        entry.done_at = b.bot.clock.now();
        b.outbox.save(entry);
    }
    // INC-1 has no channel (its creation is repaired elsewhere); INC-2 is on the console.
    CHECK(requeue_stale_topics(b.bot.service, b.bot.store, b.outbox) == 0);
    CHECK(b.outbox.pending("test").empty());
}

TEST_CASE("outbox: every Notify is written for each notify sink with the change that caused it") {
    OutboxBot b;
    int email_wakes = 0;
    int webhook_wakes = 0;
    b.outbox.add_notify_sink("email", [&] { ++email_wakes; });
    b.outbox.add_notify_sink("webhook", [&] { ++webhook_wakes; });
    REQUIRE(b.command("declare sev2 Checkout down").reply.ok);
    for (const char* sink : {"email", "webhook"}) {
        const auto pending = b.outbox.pending(sink);
        REQUIRE_MESSAGE(pending.size() == 1, sink);
        CHECK(pending[0].kind == "notify");
        CHECK(pending[0].incident == 1);
        const auto effect = effect_from_json(pending[0].payload);
        REQUIRE(effect);
        const auto* n = std::get_if<Notify>(&*effect);
        REQUIRE(n);
        CHECK(n->kind == NotifyKind::declared);
        CHECK(n->key == "INC-1");
    }
    CHECK(email_wakes == 1);
    CHECK(webhook_wakes == 1);
    // No Notify for the chat sink; a refused command writes none.
    for (const auto& e : b.outbox.pending("test")) CHECK(e.kind != "notify");
    CHECK_FALSE(b.command("status mitigated", "general").reply.ok);
    CHECK(b.outbox.pending("email").size() == 1);
    CHECK(email_wakes == 1);
}

TEST_CASE("outbox: a stored Notify keeps every field the webhook and the email show") {
    Notify n;
    n.kind = NotifyKind::postmortem_published;
    n.number = 7;
    n.key = "INC-7";
    n.title = "Checkout returns 502s";
    n.severity = Severity::sev1;
    n.final_severity = Severity::sev2;
    n.state = State::resolved;
    n.merged_into = 3;
    n.platform = "slack";
    n.channel_name = "inc-7-checkout";
    n.by = Actor{"U1", "alice"};
    n.text = "post-mortem published by @alice";
    n.link = "https://bot.example.com/incidents/INC-7";
    n.postmortem_link = "https://bot.example.com/incidents/INC-7/postmortem/v/2";
    n.at = 1'795'428'000'000;
    const auto back = effect_from_json(effect_to_json(Effect{n}));
    REQUIRE(back);
    const auto* m = std::get_if<Notify>(&*back);
    REQUIRE(m);
    CHECK(m->kind == n.kind);
    CHECK(m->number == n.number);
    CHECK(m->key == n.key);
    CHECK(m->title == n.title);
    CHECK(m->severity == n.severity);
    CHECK(m->final_severity == n.final_severity);
    CHECK(m->state == n.state);
    CHECK(m->merged_into == n.merged_into);
    CHECK(m->platform == n.platform);
    CHECK(m->channel_name == n.channel_name);
    CHECK(m->by == n.by);
    CHECK(m->text == n.text);
    CHECK(m->link == n.link);
    CHECK(m->postmortem_link == n.postmortem_link);
    CHECK(m->at == n.at);
}

TEST_CASE("outbox: one summary refresh waits per incident, and a claimed one does not count") {
    OutboxBot b;
    b.command("declare sev2 Checkout down");
    b.bot.service.bind_channel(1, "test", "C1", "inc-1-checkout-down");
    const auto refreshes = [&] {
        std::vector<OutboxEntry> out;
        for (const auto& e : b.outbox.pending("test")) {
            if (e.kind == "summary") out.push_back(e);
        }
        return out;
    };
    CHECK(refreshes().empty());  // the summary is posted with the channel
    // Three changes the summary shows, in three transactions: one refresh waits.
    CHECK(b.command("status identified", "C1").reply.ok);
    CHECK(b.command("sev 1", "C1").reply.ok);
    CHECK(b.command("todo check the backups", "C1").reply.ok);
    REQUIRE(refreshes().size() == 1);
    const auto back = effect_from_json(refreshes()[0].payload);
    REQUIRE(back);
    REQUIRE(std::holds_alternative<RefreshSummary>(*back));
    CHECK(std::get<RefreshSummary>(*back).incident == 1);
    CHECK(refreshes()[0].incident == 1);
    // A note does not show on the summary: no refresh of its own either way.
    CHECK(b.command("note paged the DBA", "C1").reply.ok);
    CHECK(refreshes().size() == 1);

    // Taken by a delivery, it may have rendered before the next change: that one gets its own.
    OutboxEntry taken = refreshes()[0];
    REQUIRE(b.outbox.claim(taken));
    CHECK(b.command("update failover done", "C1").reply.ok);
    CHECK(refreshes().size() == 2);
    CHECK(b.command("role scribe @bob", "C1").reply.ok);
    CHECK(refreshes().size() == 2);
}
