#include <doctest/doctest.h>

#include "bot/text.hpp"
#include "commands/forms.hpp"
#include "fixture.hpp"

using namespace incident;
using namespace incident::commands;
using incident::testing::Bot;

namespace {

std::vector<std::string> option_values(const Form& form, const std::string& field) {
    std::vector<std::string> values;
    REQUIRE(form.field(field) != nullptr);
    for (const auto& o : form.field(field)->options) values.push_back(o.value);
    return values;
}

Incident incident_in(State state) {
    Incident inc;
    inc.number = 3;
    inc.title = "Checkout is down";
    inc.severity = Severity::sev2;
    inc.state = state;
    return inc;
}

// The error of `field`, or "" when that field has none.
std::string error_of(const FormResult& r, const std::string& field) {
    const auto it = r.errors.find(field);
    return it == r.errors.end() ? "" : it->second;
}

}  // namespace

TEST_CASE("every form has an id it is found by, a short title, and the fields it needs") {
    const Incident inc = incident_in(State::investigating);
    for (const FormId id : {FormId::update, FormId::severity, FormId::state, FormId::role,
                            FormId::action, FormId::resolve, FormId::declare}) {
        CAPTURE(to_string(id));
        CHECK(parse_form_id(to_string(id)) == id);
        const Form form = make_form(id, &inc);
        CHECK(form.id == id);
        // Slack shows at most 24 characters of a modal's title, submit label and block labels.
        CHECK(utf8_length(form.title) <= 24);
        CHECK(utf8_length(form.submit) <= 24);
        REQUIRE_FALSE(form.fields.empty());
        for (const auto& f : form.fields) {
            CHECK(utf8_length(f.label) <= 24);
            CHECK((f.kind == FieldKind::select) == !f.options.empty());
            if (f.kind == FieldKind::text || f.kind == FieldKind::long_text) {
                CHECK(f.max_length > 0);
            }
        }
    }
    CHECK_FALSE(parse_form_id("sev"));
    CHECK_FALSE(parse_form_id(""));

    const Form action = make_form(FormId::action, &inc);
    REQUIRE(action.fields.size() == 3);
    CHECK(action.fields[0].name == "text");
    CHECK(action.fields[1].kind == FieldKind::user);
    CHECK(action.fields[1].optional);
    CHECK(action.fields[2].kind == FieldKind::date);
    CHECK(action.fields[2].optional);

    const Form declare = make_form(FormId::declare);
    CHECK(declare.field("title")->max_length == k_max_title_bytes);
    CHECK(declare.field("severity")->initial == "sev3");
    CHECK(declare.field("description")->optional);
    CHECK(option_values(declare, "severity") ==
          std::vector<std::string>{"sev1", "sev2", "sev3", "sev4", "sev5"});
}

TEST_CASE("the severity form shows the current severity, the state form the reachable states") {
    const Incident inc = incident_in(State::identified);
    CHECK(make_form(FormId::severity, &inc).field("severity")->initial == "sev2");
    CHECK(option_values(make_form(FormId::state, &inc), "state") ==
          std::vector<std::string>{"investigating", "monitoring", "resolved"});
    const Incident resolved = incident_in(State::resolved);
    CHECK(option_values(make_form(FormId::state, &resolved), "state") ==
          std::vector<std::string>{"investigating"});
    const Incident closed = incident_in(State::closed);
    CHECK(make_form(FormId::state, &closed).field("state")->options.empty());
}

TEST_CASE("valid submissions become the command that does the same") {
    const Incident inc = incident_in(State::investigating);
    CHECK(submit_form(FormId::update, &inc, {{"text", "  Rolled back v42.\nErrors falling. "}})
              .command == "update INC-3 Rolled back v42.\nErrors falling.");
    CHECK(submit_form(FormId::severity, &inc, {{"severity", "sev1"}}).command == "sev INC-3 sev1");
    CHECK(submit_form(FormId::state, &inc, {{"state", "monitoring"}}).command ==
          "status INC-3 monitoring");
    CHECK(submit_form(FormId::role, &inc, {{"role", "scribe"}, {"user", "<@U123>"}}).command ==
          "role INC-3 scribe <@U123>");
    CHECK(submit_form(FormId::role, &inc, {{"role", "comms"}, {"user", "@bob"}}).command ==
          "role INC-3 comms @bob");
    CHECK(submit_form(FormId::role, &inc, {{"role", "sme"}, {"user", ""}}).command ==
          "role INC-3 sme");
    CHECK(submit_form(FormId::action, &inc,
                      {{"text", "fix the pool"}, {"owner", "<@U9|carol>"}, {"due", "2026-12-03"}})
              .command == "todo INC-3 fix the pool <@U9|carol> due:2026-12-03");
    CHECK(submit_form(FormId::action, &inc, {{"text", "fix the pool"}}).command ==
          "todo INC-3 fix the pool");
    // The text may name the owner itself, as in /incident todo; the same person twice is once.
    CHECK(submit_form(FormId::action, &inc, {{"text", "@bob fixes the pool"}, {"owner", "@bob"}})
              .command == "todo INC-3 @bob fixes the pool");
    CHECK(submit_form(FormId::resolve, &inc, {}).command == "resolve INC-3");
    CHECK(submit_form(FormId::resolve, &inc, {{"severity", "sev3"}, {"summary", "Pool resized."}})
              .command == "resolve INC-3 sev3 Pool resized.");
    // With the severity chosen, a summary may start with "sev…" (only one word is read).
    CHECK(submit_form(FormId::resolve, &inc, {{"severity", "sev3"}, {"summary", "severe load"}})
              .command == "resolve INC-3 sev3 severe load");

    const FormResult declared = submit_form(
        FormId::declare, nullptr,
        {{"title", "Checkout is down"}, {"severity", "sev2"}, {"description", "EU only"}});
    REQUIRE(declared.ok());
    CHECK(declared.command == "declare sev2 Checkout is down");
    CHECK(declared.description == "EU only");
    CHECK(description_command(7, declared.description) == "note INC-7 EU only");
    CHECK(submit_form(FormId::declare, nullptr, {{"title", "x"}, {"severity", "sev5"}})
              .description.empty());
}

TEST_CASE("invalid submissions name the field and give no command") {
    const Incident inc = incident_in(State::investigating);
    const auto refused = [&](FormId id, const FieldValues& values, const std::string& field,
                             const std::string& part, const Incident* target = nullptr) {
        CAPTURE(to_string(id));
        CAPTURE(field);
        const FormResult r = submit_form(id, target ? target : &inc, values);
        CHECK_FALSE(r.ok());
        CHECK(r.command.empty());
        CHECK(r.description.empty());
        CHECK_MESSAGE(error_of(r, field).find(part) != std::string::npos, error_of(r, field));
    };
    refused(FormId::update, {}, "text", "Required");
    refused(FormId::update, {{"text", "   \n "}}, "text", "Required");
    refused(FormId::update, {{"text", "bad \xC3\x28 bytes"}}, "text", "UTF-8");
    refused(FormId::update, {{"text", std::string(3001, 'x')}}, "text", "At most 3000 characters");
    // 3000 characters of 2 bytes each fit the field, not the router's 4000 bytes.
    std::string wide;
    for (int i = 0; i < 2100; ++i) wide += "é";
    refused(FormId::update, {{"text", wide}}, "text", "at most 4000");
    refused(FormId::severity, {{"severity", "sev9"}}, "severity", "Choose one");
    refused(FormId::severity, {{"severity", "2"}}, "severity", "Choose one");
    refused(FormId::state, {{"state", "closed"}}, "state", "Choose one");
    refused(FormId::state, {{"state", "merged"}}, "state", "Choose one");
    refused(FormId::state, {{"state", "investigating"}}, "state", "already investigating");
    // The incident was resolved after the form was opened: the state machine says why not.
    const Incident resolved = incident_in(State::resolved);
    refused(FormId::state, {{"state", "monitoring"}}, "state", "reopen", &resolved);
    refused(FormId::role, {{"role", "boss"}}, "role", "Choose one");
    refused(FormId::role, {{"role", "scribe"}, {"user", "bob"}}, "user", "Choose a person");
    refused(FormId::role, {{"role", "scribe"}, {"user", "@bob @carol"}}, "user", "Choose a person");
    refused(FormId::action, {{"text", "fix"}, {"due", "2026-02-30"}}, "due", "is not a date");
    refused(FormId::action, {{"text", "fix"}, {"due", "tomorrow"}}, "due", "YYYY-MM-DD");
    refused(FormId::action, {{"text", "fix due:2026-13-01"}}, "text", "is not a due date");
    refused(FormId::action, {{"text", "fix due:2026-12-01"}, {"due", "2026-12-02"}}, "text",
            "due date too");
    refused(FormId::action, {{"text", "@bob fixes it"}, {"owner", "@carol"}}, "owner",
            "names @bob");
    refused(FormId::action, {{"text", "fix\nit"}}, "text", "one line");
    refused(FormId::resolve, {{"summary", "Severe load, pool resized"}}, "summary", "sev");
    refused(FormId::resolve, {{"severity", "sev0"}}, "severity", "Choose one");
    refused(FormId::declare, {{"severity", "sev2"}}, "title", "Required");
    refused(FormId::declare, {{"title", "x"}, {"severity", ""}}, "severity", "Required");
    std::string long_title;
    for (int i = 0; i < 120; ++i) long_title += "é";  // 120 characters, 240 bytes
    refused(FormId::declare, {{"title", long_title}, {"severity", "sev2"}}, "title",
            "At most 200 bytes");
    refused(FormId::declare,
            {{"title", "x"}, {"severity", "sev2"}, {"description", std::string(4000, 'd')}},
            "description", "At most 3000");

    // Every field's problem at once, so that a form shows them together.
    const FormResult both =
        submit_form(FormId::action, &inc, {{"text", ""}, {"due", "2026-00-01"}, {"owner", "x"}});
    CHECK(both.errors.size() == 3);

    // Without the incident there is nothing to act on.
    const FormResult orphan = submit_form(FormId::update, nullptr, {{"text", "hello"}});
    CHECK_FALSE(orphan.ok());
    CHECK(orphan.errors.count("text") == 1);
}

TEST_CASE("a submitted form does what its command does, with the same reply") {
    Bot typed, formed;
    const std::string channel = typed.declare();
    REQUIRE(formed.declare() == channel);
    const auto current = [](Bot& bot) { return bot.service.list(true).front(); };

    const auto both = [&](const std::string& command, FormId id, const FieldValues& values) {
        CAPTURE(command);
        const Incident inc = current(formed);
        const FormResult r = submit_form(id, &inc, values);
        REQUIRE_MESSAGE(r.ok(), (r.errors.empty() ? "" : r.errors.begin()->second));
        const Outcome a = typed.command(command, "alice", channel);
        const Outcome b = formed.command(r.command, "alice", channel);
        CHECK(a.reply.ok == b.reply.ok);
        CHECK(a.reply.visibility == b.reply.visibility);
        CHECK(a.reply.text == b.reply.text);
        CHECK(a.effects.size() == b.effects.size());
    };
    both("update Rolled back v42", FormId::update, {{"text", "Rolled back v42"}});
    both("sev 1", FormId::severity, {{"severity", "sev1"}});
    both("status identified", FormId::state, {{"state", "identified"}});
    both("role scribe <@U-bob|bob>", FormId::role, {{"role", "scribe"}, {"user", "<@U-bob|bob>"}});
    both("todo fix the pool @carol due:2026-12-03", FormId::action,
         {{"text", "fix the pool"}, {"owner", "@carol"}, {"due", "2026-12-03"}});
    both("resolve sev2 Pool resized", FormId::resolve,
         {{"severity", "sev2"}, {"summary", "Pool resized"}});

    const Incident a = current(typed), b = current(formed);
    CHECK(b.state == a.state);
    CHECK(b.state == State::resolved);
    CHECK(b.final_severity == a.final_severity);
    CHECK(formed.service.roles(b.number).size() == typed.service.roles(a.number).size());
    const auto actions = formed.service.actions(b.number);
    REQUIRE(actions.size() == 1);
    CHECK(actions[0].owner == "@carol");
    CHECK(actions[0].due == "2026-12-03");
    CHECK(actions[0].text == typed.service.actions(a.number)[0].text);
}

TEST_CASE("a declare form's command declares, its description becomes a key event") {
    Bot bot;
    const FormResult r =
        submit_form(FormId::declare, nullptr,
                    {{"title", "Search is slow"}, {"severity", "sev4"}, {"description", "EU"}});
    REQUIRE(r.ok());
    const Outcome out = bot.command(r.command);
    REQUIRE(out.reply.ok);
    const Incident inc = bot.service.list(true).front();
    CHECK(inc.title == "Search is slow");
    CHECK(inc.severity == Severity::sev4);
    REQUIRE(bot.command(description_command(inc.number, r.description)).reply.ok);
    bool noted = false;
    for (const auto& e : bot.service.timeline(inc.number)) {
        noted = noted || (e.key_event && e.kind == EntryKind::note && e.text == "EU");
    }
    CHECK(noted);
}

TEST_CASE("a submission's request id is the same for the same values, new for changed ones") {
    const std::string id = submission_id("V123", {{"text", "a"}, {"due", ""}});
    CHECK(id.starts_with("V123:"));
    CHECK(submission_id("V123", {{"due", ""}, {"text", "a"}}) == id);
    CHECK(submission_id("V123", {{"text", " a "}, {"due", ""}}) == id);  // as the command reads it
    CHECK(submission_id("V123", {{"text", "b"}, {"due", ""}}) != id);
    CHECK(submission_id("V124", {{"text", "a"}, {"due", ""}}) != id);
    // Values do not run into each other: "ab"+"" is not "a"+"b".
    CHECK(submission_id("V", {{"x", "ab"}, {"y", ""}}) !=
          submission_id("V", {{"x", "a"}, {"y", "b"}}));
}
