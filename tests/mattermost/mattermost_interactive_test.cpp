// Buttons and dialogs on Mattermost (issue 19): the summary post's buttons carry a context the
// bot signed; a click opens a dialog with the click's trigger id; a submission is validated per
// field and then runs the same command, once. Mattermost signs neither request, so anything the
// bot did not sign is refused with 401 and changes nothing.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using nlohmann::json;
namespace asio = boost::asio;

namespace {

const json& summary_actions(FakeMattermost& fake, const std::string& post_id) {
    return fake.posts.at(post_id)["props"]["attachments"].at(0)["actions"];
}

// Everything a refused request could have changed.
struct Footprint {
    std::string state, severity;
    std::size_t timeline = 0, outbox = 0, dialogs = 0, posts = 0;
    bool operator==(const Footprint&) const = default;
};

Footprint footprint(MattermostHarness& h) {
    const auto inc = h.service->find(1);
    REQUIRE(inc);
    return Footprint{std::string(to_string(inc->state)),
                     std::string(to_string(inc->severity)),
                     h.service->timeline(1).size(),
                     h.outbox->pending("mattermost").size(),
                     h.fake->dialogs.size(),
                     h.fake->posts.size()};
}

// Contexts the bot did not sign, each with why: GCC 12 mangles string literals and braced
// lists inside coroutines, so they are built here.
std::vector<std::pair<std::string, json>> forged_contexts(const json& good) {
    std::vector<std::pair<std::string, json>> forged;
    json altered_action = good;
    altered_action["action"] = "update";  // Resolve's signature on another button
    forged.emplace_back("another action", altered_action);
    json altered_incident = good;
    altered_incident["incident"] = 2;
    forged.emplace_back("another incident", altered_incident);
    json unsigned_context = good;
    unsigned_context.erase("signature");
    forged.emplace_back("no signature", unsigned_context);
    json short_signature = good;
    short_signature["signature"] = good["signature"].get<std::string>().substr(0, 10);
    forged.emplace_back("a cut signature", short_signature);
    forged.emplace_back("another key", mattermost::InteractionSigner("not the bot's secret")
                                           .action_context(1, commands::FormId::resolve));
    forged.emplace_back("the docs' context", json{{"action", "do_something"}});
    forged.emplace_back("no context", nullptr);
    json as_text = good;
    as_text["incident"] = "1";
    forged.emplace_back("the number as text", as_text);
    return forged;
}

std::vector<std::pair<std::string, std::string>> forged_states(
    const mattermost::InteractionSigner& signer, const std::string& alice,
    const std::string& carol) {
    std::vector<std::pair<std::string, std::string>> states;
    states.emplace_back("empty", "");
    states.emplace_back("another key", mattermost::InteractionSigner("x").dialog_state(
                                           1, commands::FormId::resolve, "n1", alice));
    states.emplace_back("another user",
                        signer.dialog_state(1, commands::FormId::resolve, "n1", carol));
    states.emplace_back(
        "altered incident",
        "v1.2" + signer.dialog_state(1, commands::FormId::resolve, "n1", alice).substr(4));
    states.emplace_back("garbage", "v1.1.resolve.n1.zz");
    return states;
}

// A dialog as if the bot had opened one (for submissions with forged states).
json opened_dialog(const std::string& url) {
    return json{{"trigger_id", "none"},
                {"url", url},
                {"dialog", {{"callback_id", "resolve"}, {"title", "Resolve"}, {"state", ""}}}};
}

std::vector<std::string> button_names() {
    return {"Post update", "Change severity", "Change state",
            "Assign role", "Add action item", "Resolve"};
}

}  // namespace

TEST_CASE(
    "mattermost summary buttons: six buttons with contexts the bot signed, kept by every patch, "
    "never shown to clients") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const auto live = h.service->live_message(1, "mattermost");
        REQUIRE(live);
        const json actions = summary_actions(*h.fake, live->message_id);
        REQUIRE(actions.size() == 6);
        std::vector<std::string> names;
        for (const auto& a : actions) {
            names.push_back(a["name"]);
            CHECK(a["type"] == "button");
            CHECK(a["integration"]["url"] == h.bot_url() + "/mattermost/actions");
            const auto verified = h.adapter->signer().verify_context(a["integration"]["context"]);
            REQUIRE(verified);
            CHECK(verified->incident == 1);
            CHECK(std::string(commands::to_string(verified->form)) == a["id"]);
        }
        const std::vector<std::string> expected = button_names();
        CHECK(names == expected);

        // A change patches the summary: the message and the same buttons again (props are
        // replaced as a whole by a patch).
        co_await h.fake->run_command(channel, h.alice(), "status identified");
        REQUIRE(co_await h.idle());
        const auto patches = h.fake->calls_of("PUT", "posts/" + live->message_id + "/patch");
        REQUIRE(patches.size() == 1);
        CHECK(patches[0].body["props"]["attachments"][0]["actions"] == actions);
        CHECK(summary_actions(*h.fake, live->message_id) == actions);
        CHECK(h.fake->posts.at(live->message_id)["message"].get<std::string>().find(
                  "**State:** identified") != std::string::npos);
        // The same incident, nothing new: no patch (the rendering includes the buttons).
        co_await h.fake->run_command(channel, h.alice(), "note paged the DBA");
        REQUIRE(co_await h.idle());
        CHECK(h.fake->count("PUT", "posts/" + live->message_id + "/patch") == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost actions and dialogs: a context or state the bot did not sign gets 401 and "
    "changes nothing") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const auto live = h.service->live_message(1, "mattermost");
        REQUIRE(live);
        const std::string post = live->message_id;
        const std::string url = h.bot_url() + "/mattermost/actions";
        const json good = summary_actions(*h.fake, post)[5]["integration"]["context"];  // Resolve
        const Footprint before = footprint(h);

        const auto forged = forged_contexts(good);
        for (const auto& [why, context] : forged) {
            const auto answer = co_await h.fake->post_action(url, post, h.bob(), context);
            CHECK_MESSAGE(answer.status == 401, why);
        }
        // A body that is not a request at all.
        net::HttpRequest junk;
        junk.method = "POST";
        junk.url = url;
        junk.headers.set("Content-Type", "application/json");
        junk.body = "{\"context\": ";
        CHECK((co_await h.client->request(junk)).status == 400);
        // Only POST.
        net::HttpRequest get;
        get.method = "GET";
        get.url = url;
        CHECK((co_await h.client->request(get)).status == 405);
        CHECK(h.fake->dialogs.empty());
        REQUIRE(co_await h.idle());
        CHECK(footprint(h) == before);

        // A submission whose state the bot did not sign, or signed for someone else.
        h.fake->dialogs.push_back(opened_dialog(h.bot_url() + "/mattermost/dialogs"));
        const auto states = forged_states(h.adapter->signer(), h.alice(), h.carol());
        for (const auto& [why, state] : states) {
            const json values = json::parse(R"({"summary": "db fixed"})");
            const auto answer = co_await h.fake->submit_dialog(0, h.alice(), values, state);
            CHECK_MESSAGE(answer.status == 401, why);
        }
        REQUIRE(co_await h.idle());
        Footprint after = footprint(h);
        after.dialogs = before.dialogs;  // the one the test put there
        CHECK(after == before);
        CHECK(h.service->find(1)->state == State::investigating);
        h.adapter->stop();
    });
    CHECK(finished);
}

namespace {

std::size_t posts_containing(FakeMattermost& fake, const std::string& channel,
                             const std::string& text) {
    std::size_t n = 0;
    for (const auto& [id, post] : fake.posts) {
        n += post.value("channel_id", "") == channel &&
             post.value("message", "").find(text) != std::string::npos;
    }
    return n;
}

const json& element(const json& dialog, const std::string& name) {
    for (const auto& e : dialog["dialog"]["elements"]) {
        if (e["name"] == name) return e;
    }
    FAIL("no element " << name);
    static const json none;
    return none;
}

// Submitted values (built outside the coroutine: GCC 12 and braced lists, see above).
json values_of(const std::string& name, const std::string& value) {
    json out = json::object();
    out[name] = value;
    return out;
}

json item_values(const std::string& text, const std::string& owner, const std::string& due) {
    json out = json::object();
    out["text"] = text;
    out["owner"] = owner;
    out["due"] = due;
    return out;
}

}  // namespace

TEST_CASE(
    "mattermost dialogs: a click opens its dialog with the click's trigger id, a bad value is "
    "named, a good one does what the command does, and a resubmission is applied once") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const std::string post = h.service->live_message(1, "mattermost")->message_id;

        // Change severity: the click opens the dialog before it is answered, with its trigger
        // id (the fake refuses an unknown or expired one, and an invalid dialog).
        const auto click = co_await h.fake->click(post, "severity", h.bob());
        CHECK(click.status == 200);
        CHECK(click.body == json::object());
        CHECK(h.fake->dialog_refusals.empty());
        REQUIRE(h.fake->dialogs.size() == 1);
        const json opened = h.fake->dialogs[0];
        CHECK(opened["trigger_id"] == click.trigger_id);
        CHECK(opened["url"] == h.bot_url() + "/mattermost/dialogs");
        CHECK(opened["dialog"]["callback_id"] == "severity");
        CHECK(opened["dialog"]["title"] == "Change severity");
        const json& sev = element(opened, "severity");
        CHECK(sev["type"] == "select");
        CHECK(sev["options"].size() == 5);
        CHECK(sev["default"] == "sev2");  // the incident's severity now

        // Bad value: the field is named, the dialog stays open, nothing changes.
        const std::size_t timeline = h.service->timeline(1).size();
        auto answer = co_await h.fake->submit_dialog(0, h.bob(), values_of("severity", "sev9"));
        CHECK(answer.status == 200);
        REQUIRE(answer.body.contains("errors"));
        CHECK(answer.body["errors"].contains("severity"));
        CHECK(h.service->find(1)->severity == Severity::sev2);
        // Submitted by someone else than the one it was opened for: refused.
        answer = co_await h.fake->submit_dialog(0, h.carol(), values_of("severity", "sev1"));
        CHECK(answer.status == 401);
        // Cancelled: nothing.
        answer = co_await h.fake->submit_dialog(0, h.bob(), json::object(), std::nullopt, true);
        CHECK(answer.status == 200);
        REQUIRE(co_await h.idle());
        CHECK(h.service->timeline(1).size() == timeline);

        // Good value: what `/incident sev INC-1 sev1` does, by bob, with its message.
        answer = co_await h.fake->submit_dialog(0, h.bob(), values_of("severity", "sev1"));
        CHECK(answer.status == 200);
        CHECK(answer.body == json::object());
        REQUIRE(co_await h.idle());
        CHECK(h.service->find(1)->severity == Severity::sev1);
        CHECK(h.service->timeline(1).back().author.name == "bob");
        CHECK(posts_containing(*h.fake, channel, "INC-1 severity is now SEV1") == 1);
        // The summary shows it, buttons kept.
        CHECK(h.fake->posts.at(post)["message"].get<std::string>().find("SEV1") !=
              std::string::npos);
        CHECK(h.fake->posts.at(post)["props"]["attachments"][0]["actions"].size() == 6);
        const std::size_t after = h.service->timeline(1).size();

        // The same submission again (a double click on Submit, a retried request): applied
        // once, no second message.
        answer = co_await h.fake->submit_dialog(0, h.bob(), values_of("severity", "sev1"));
        CHECK(answer.status == 200);
        REQUIRE(co_await h.idle());
        CHECK(h.service->timeline(1).size() == after);
        CHECK(posts_containing(*h.fake, channel, "INC-1 severity is now SEV1") == 1);

        // Add action item: a users select and a date; the same item as the command makes.
        const auto add = co_await h.fake->click(post, "action", h.alice());
        CHECK(add.status == 200);
        REQUIRE(h.fake->dialogs.size() == 2);
        const json action_dialog = h.fake->dialogs[1];
        CHECK(element(action_dialog, "owner")["data_source"] == "users");
        CHECK(element(action_dialog, "due")["type"] == "text");
        answer = co_await h.fake->submit_dialog(
            1, h.alice(), item_values("check the backups", h.carol(), "2026-13-45"));
        REQUIRE(answer.body.contains("errors"));
        CHECK(answer.body["errors"].contains("due"));
        CHECK_FALSE(answer.body["errors"].contains("text"));
        CHECK(h.service->actions(1).empty());
        answer = co_await h.fake->submit_dialog(
            1, h.alice(), item_values("check the backups", h.carol(), "2026-12-24"));
        CHECK(answer.body == json::object());
        co_await h.fake->run_command(channel, h.alice(),
                                     "todo check the backups @carol due:2026-12-24");
        REQUIRE(co_await h.idle());
        const auto items = h.service->actions(1);
        REQUIRE(items.size() == 2);
        CHECK(items[0].text == items[1].text);
        CHECK(items[0].owner == "@carol");
        CHECK(items[0].owner == items[1].owner);
        CHECK(items[0].due == items[1].due);
        CHECK(items[0].author.id == items[1].author.id);
        CHECK(posts_containing(*h.fake, channel, "Action item 1 added to INC-1") == 1);

        // A click whose trigger has expired by the time the bot uses it: the dialog is not
        // opened, the click is answered with why, nothing changes.
        h.fake->trigger_timeout = std::chrono::milliseconds(0);
        const auto late = co_await h.fake->click(post, "role", h.alice());
        CHECK(late.status == 200);
        CHECK(late.body.value("ephemeral_text", "").find("could not open the form") !=
              std::string::npos);
        CHECK(h.fake->dialogs.size() == 2);
        CHECK(h.fake->dialog_refusals.size() == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}
