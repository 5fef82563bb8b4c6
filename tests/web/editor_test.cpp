#include <doctest/doctest.h>

#include <string>

#include "adapters/web/query.hpp"
#include "adapters/web/sign_in.hpp"
#include "web_fixture.hpp"

using namespace incident;
using namespace incident::web;
using namespace incident::web::testing;

namespace {

constexpr std::string_view k_base = "https://bot.example.com/";
constexpr Timestamp k_session_ttl = 12 * 3'600'000LL;
const std::map<std::string, std::string> k_form = {
    {"content-type", "application/x-www-form-urlencoded"}};

// The dashboard with sign-in through `/incident login`, wired as main wires it.
struct Editing {
    std::string token;
    Bot bot;
    Metrics metrics;
    SignIn sign_in;
    Dashboard dashboard;

    explicit Editing(std::string dashboard_token = {})
        : token(std::move(dashboard_token)),
          sign_in(bot.store, sign_in_key(bot.store, token), k_session_ttl, std::string(k_base)),
          dashboard(bot.service, metrics, options()) {
        bot.service.use_sign_in(
            [this](const std::string& platform, const Actor& person, Timestamp at) {
                return sign_in.link(platform, person, at);
            });
    }

    DashboardOptions options() {
        DashboardOptions o;
        o.token = token;
        o.sign_in = &sign_in;
        return o;
    }

    WebResponse request(std::string method, std::string target,
                        std::map<std::string, std::string> headers = {}, std::string body = {}) {
        return dashboard.handle(WebRequest{std::move(method), std::move(target), std::move(headers),
                                           std::move(body), "127.0.0.1:50000"});
    }
    WebResponse get(std::string target, const std::string& cookie = {}) {
        std::map<std::string, std::string> headers;
        if (!cookie.empty()) headers["cookie"] = cookie;
        return request("GET", std::move(target), headers);
    }

    // The path of the link `/incident login` gave `user` in chat.
    std::string login_path(const std::string& user) {
        const Outcome out = bot.command("login", user);
        REQUIRE_MESSAGE(out.reply.ok, out.reply.text);
        CHECK(out.reply.visibility == Reply::Visibility::ephemeral);
        const auto at = out.reply.text.find(k_base);
        REQUIRE(at != std::string::npos);
        const auto end = out.reply.text.find_first_of(" \n", at);
        return "/" + out.reply.text.substr(at + k_base.size(), end - at - k_base.size());
    }

    // Opens the link and presses its Sign in button, as a browser does: with the cookie
    // and the form token of the page. A link the page refuses gives that page.
    WebResponse use_link(const std::string& path) {
        const WebResponse page = get(path);
        if (page.status != 200) return page;
        const auto set_cookie = header(page, "Set-Cookie");
        REQUIRE(set_cookie);
        const std::string needle = "name=\"csrf\" value=\"";
        const auto at = page.body.find(needle);
        REQUIRE(at != std::string::npos);
        const auto start = at + needle.size();
        std::map<std::string, std::string> headers = k_form;
        headers["cookie"] = set_cookie->substr(0, set_cookie->find(';'));
        return request("POST", path, headers,
                       "csrf=" + page.body.substr(start, page.body.find('"', start) - start));
    }

    // Signs `user` in through a fresh link; the Cookie header of the session.
    std::string sign_in_as(const std::string& user) {
        const WebResponse res = use_link(login_path(user));
        REQUIRE(res.status == 303);
        const auto set_cookie = header(res, "Set-Cookie");
        REQUIRE(set_cookie);
        return set_cookie->substr(0, set_cookie->find(';'));
    }

    WebResponse post(const std::string& cookie, const std::string& body,
                     const std::string& target = "/incidents/INC-1/postmortem/sections") {
        std::map<std::string, std::string> headers = k_form;
        if (!cookie.empty()) headers["cookie"] = cookie;
        return request("POST", target, headers, body);
    }
};

// The value of hidden field `name` in the form with id `form` of `page`.
std::string field_of(const std::string& page, const std::string& form, const std::string& name) {
    const auto at = page.find("id=\"" + form + "\"");
    REQUIRE_MESSAGE(at != std::string::npos, "no form " << form);
    const std::string needle = "name=\"" + name + "\" value=\"";
    const auto field = page.find(needle, at);
    REQUIRE(field != std::string::npos);
    const auto start = field + needle.size();
    return page.substr(start, page.find('"', start) - start);
}

std::string save_body(const std::string& csrf, const std::string& section,
                      const std::string& based_on, const std::string& text,
                      const std::string& extra = {}) {
    return "csrf=" + csrf + "&section=" + section + "&based_on=" + based_on +
           "&text=" + percent_encode(text) + extra;
}

std::string impact(Editing& e) {
    const auto s = e.bot.service.sections(1).impact_customers;
    return s ? s->text : "";
}

}  // namespace

TEST_CASE("editing: /incident login gives a link that signs in once, as that person") {
    Editing e;
    const std::string ch = e.bot.declare();
    const std::string path = e.login_path("alice");
    CHECK(path.starts_with("/login/l1."));

    // Opening the link (or a link preview fetching it) only asks; it spends nothing.
    for (int i = 0; i < 2; ++i) {
        const WebResponse ask = e.get(path);
        CHECK(ask.status == 200);
        CHECK(contains(ask.body, "signs you in as @alice (test)"));
        CHECK(contains(ask.body,
                       "<form class=\"filters\" method=\"post\" id=\"sign-in-form\" action=\"" +
                           path + "\">"));
        // Only the cookie tying the button to this browser, no session.
        const std::string set_cookie = header(ask, "Set-Cookie").value_or("");
        CHECK(set_cookie.starts_with("incident_bot_sign_in="));
        CHECK(contains(set_cookie, "; Path=/login/; Max-Age=600; HttpOnly; SameSite=Strict"));
    }
    CHECK(e.request("HEAD", path).status == 200);

    const WebResponse first = e.use_link(path);
    CHECK(first.status == 303);
    CHECK(header(first, "Location") == "/");
    const std::string set_cookie = header(first, "Set-Cookie").value_or("");
    CHECK(set_cookie.starts_with("incident_bot_person=s1."));
    CHECK(contains(set_cookie, "; Path=/"));
    CHECK(contains(set_cookie, "; HttpOnly"));
    CHECK(contains(set_cookie, "; SameSite=Lax"));
    CHECK(contains(set_cookie, "; Max-Age=43200"));
    CHECK_FALSE(contains(set_cookie, "; Secure"));
    const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));

    const WebResponse page = e.get("/incidents/INC-1/postmortem", cookie);
    CHECK(page.status == 200);
    CHECK(contains(page.body, "Signed in as @alice (test)"));
    CHECK(contains(page.body, "<h2>Edit the post-mortem</h2>"));
    for (const char* form : {"edit-summary", "edit-impact.customers", "edit-impact.internal",
                             "edit-impact.availability", "edit-why", "edit-root_cause",
                             "edit-lesson.well", "edit-lesson.wrong", "edit-lesson.lucky"}) {
        CHECK_MESSAGE(contains(page.body, "id=\"" + std::string(form) + "\""), form);
    }
    CHECK(contains(page.body, "<textarea"));

    // The same link again: used, no new session.
    for (const char* method : {"GET", "POST"}) {
        const WebResponse again = e.request(method, path);
        CHECK(again.status == 410);
        CHECK(contains(again.body, "was used already"));
        CHECK(contains(again.body, "/incident login"));
        CHECK_FALSE(header(again, "Set-Cookie"));
    }

    // Without a session: how to sign in, no form.
    const WebResponse anonymous = e.get("/incidents/INC-1/postmortem");
    CHECK(contains(anonymous.body, "type <code>/incident login</code> in chat"));
    CHECK_FALSE(contains(anonymous.body, "<textarea"));
    (void)ch;
}

TEST_CASE("editing: an expired or forged link changes nothing and says to log in again") {
    Editing e;
    e.bot.declare();
    const std::string path = e.login_path("alice");
    e.bot.clock.advance(SignIn::k_link_ttl_ms);
    for (const char* method : {"GET", "POST"}) {
        const WebResponse expired = e.request(method, path);
        CHECK(expired.status == 410);
        CHECK(contains(expired.body, "has expired"));
        CHECK(contains(expired.body, "/incident login"));
        CHECK_FALSE(header(expired, "Set-Cookie"));
    }

    const std::string fresh = e.login_path("alice");
    // Another name in the token, a cut token, garbage, a session cookie as a link, and a link
    // signed with another key: none signs in.
    std::string renamed = fresh;
    const auto name_at = renamed.rfind('.') - 2;
    renamed[name_at] = renamed[name_at] == '6' ? '7' : '6';
    SignIn other(e.bot.store, "another key", k_session_ttl, std::string(k_base));
    const std::string foreign =
        other.link("test", Actor{"U-alice", "alice"}, e.bot.clock.now()).url.substr(k_base.size());
    const std::string session =
        e.sign_in.start_session(Person{"test", Actor{"U-alice", "alice"}}, e.bot.clock.now());
    for (const std::string& forged :
         {renamed, fresh.substr(0, fresh.size() - 1), std::string("/login/abc"),
          std::string("/login/") + session, "/" + foreign}) {
        CAPTURE(forged);
        for (const char* method : {"GET", "POST"}) {
            const WebResponse res = e.request(method, forged);
            CHECK(res.status == 403);
            CHECK(contains(res.body, "not a valid sign-in link"));
            CHECK(contains(res.body, "/incident login"));
            CHECK_FALSE(header(res, "Set-Cookie"));
        }
    }
    // The fresh link was not spent by its forgeries.
    CHECK(e.use_link(fresh).status == 303);
}

TEST_CASE("editing: sessions expire, are checked, and signing out ends them") {
    Editing e;
    e.bot.declare();
    const std::string cookie = e.sign_in_as("alice");
    CHECK(contains(e.get("/", cookie).body, "Signed in as @alice"));
    std::string tampered = cookie;
    tampered.back() = tampered.back() == '0' ? '1' : '0';
    CHECK_FALSE(contains(e.get("/", tampered).body, "Signed in as"));

    const WebResponse out = e.request("POST", "/logout", {{"cookie", cookie}});
    CHECK(out.status == 303);
    CHECK(header(out, "Location") == "/");
    CHECK(contains(header(out, "Set-Cookie").value_or(""),
                   "incident_bot_person=; Path=/; Max-Age=0"));
    // Signed out for good, even where the cookie was kept.
    CHECK_FALSE(contains(e.get("/", cookie).body, "Signed in as"));

    const std::string later = e.sign_in_as("bob");
    e.bot.clock.advance(k_session_ttl - 1);
    CHECK(contains(e.get("/", later).body, "Signed in as @bob"));
    e.bot.clock.advance(1);
    CHECK_FALSE(contains(e.get("/", later).body, "Signed in as"));
}

TEST_CASE("editing: with a dashboard token, a chat sign-in reads too, and the token still works") {
    Editing e("s3cret-dashboard-token");
    e.bot.declare();
    CHECK(e.get("/").status == 303);
    const std::string cookie = e.sign_in_as("alice");
    CHECK(e.get("/", cookie).status == 200);
    CHECK(e.get("/api/incidents", cookie).status == 200);
    CHECK(e.request("GET", "/api/incidents", {{"authorization", "Bearer s3cret-dashboard-token"}})
              .status == 200);
    // The token's session reads but cannot edit: edits need a person.
    const WebResponse login =
        e.request("POST", "/login", k_form, "token=s3cret-dashboard-token&next=%2F");
    const std::string token_cookie =
        header(login, "Set-Cookie")->substr(0, header(login, "Set-Cookie")->find(';'));
    CHECK(e.get("/incidents/INC-1/postmortem", token_cookie).status == 200);
    const WebResponse refused = e.post(token_cookie, save_body("x", "summary", "0", "by token"));
    CHECK(refused.status == 403);
    CHECK(contains(refused.body, "/incident login"));
    CHECK_FALSE(e.bot.service.sections(1).summary);
    // A new dashboard token ends the chat sessions (the key comes from it).
    SignIn rotated(e.bot.store, sign_in_key(e.bot.store, "another-token"), k_session_ttl,
                   std::string(k_base));
    CHECK_FALSE(rotated.session(cookie.substr(cookie.find('=') + 1), e.bot.clock.now()));
}

TEST_CASE("editing: without a dashboard token the key is made once and kept in the database") {
    Editing e;
    const std::string key = sign_in_key(e.bot.store, "");
    CHECK(key.size() == 64);
    CHECK(sign_in_key(e.bot.store, "") == key);
    CHECK(sign_in_key(e.bot.store, "a token") != key);
    // Housekeeping never prunes it.
    e.bot.store.prune_processed(e.bot.clock.now() + 365LL * 86'400'000, 1000);
    CHECK(sign_in_key(e.bot.store, "") == key);
}

TEST_CASE("editing: a save is a new revision by the signed-in person, shown in the Markdown") {
    Editing e;
    e.bot.declare();
    const std::string cookie = e.sign_in_as("alice");
    const std::string page = e.get("/incidents/INC-1/postmortem", cookie).body;
    const std::string csrf = field_of(page, "edit-impact.customers", "csrf");
    CHECK(field_of(page, "edit-impact.customers", "based_on") == "0");

    const std::string body =
        save_body(csrf, "impact.customers", "0", "30% of checkouts **failed** <b>for</b> 19 min");
    const WebResponse saved = e.post(cookie, body);
    CHECK(saved.status == 303);
    CHECK(header(saved, "Location") == "/incidents/INC-1/postmortem#edit");
    const auto revision = e.bot.service.sections(1).impact_customers;
    REQUIRE(revision);
    CHECK(revision->text == "30% of checkouts **failed** <b>for</b> 19 min");
    CHECK(revision->author == Actor{"U-alice", "alice"});
    const WebResponse md = e.get("/incidents/INC-1/postmortem.md");
    CHECK(contains(md.body, "- **Customers:** 30% of checkouts **failed** <b>for</b> 19 min\n"));
    // Escaped on the page, in the draft and in the form.
    const std::string after = e.get("/incidents/INC-1/postmortem", cookie).body;
    CHECK_FALSE(contains(after, "<b>for</b>"));
    CHECK(contains(after, "&lt;b&gt;for&lt;/b&gt;"));
    CHECK(field_of(after, "edit-impact.customers", "based_on") == std::to_string(revision->id));

    // Clicking Save twice on one form saves once.
    CHECK(e.post(cookie, body).status == 303);
    CHECK(e.bot.service.revisions(1).size() == 1);

    // A new why, then an edit of why 1.
    CHECK(e.post(cookie, save_body(csrf, "why", "0", "the pool was empty")).status == 303);
    const auto why = e.bot.service.sections(1).whys.at(0);
    CHECK(e.post(cookie,
                 save_body(csrf, "why", std::to_string(why.id), "the pool had no hosts", "&item=1"))
              .status == 303);
    CHECK(e.bot.service.sections(1).whys.size() == 1);
    CHECK(e.bot.service.sections(1).whys.at(0).text == "the pool had no hosts");

    // Preview: rendered, not saved.
    const auto before = e.bot.service.revisions(1).size();
    const WebResponse preview = e.post(
        cookie, save_body(csrf, "root_cause", "0", "pushes are **not** validated", "&do=preview"));
    CHECK(preview.status == 200);
    CHECK(contains(preview.body, "<strong>not</strong>"));
    CHECK(contains(preview.body, "pushes are **not** validated</textarea>"));
    CHECK(e.bot.service.revisions(1).size() == before);

    // Bad input: a clear page, the text kept, nothing saved.
    const WebResponse empty = e.post(cookie, save_body(csrf, "root_cause", "0", "   "));
    CHECK(empty.status == 400);
    CHECK(contains(empty.body, "Nothing was written"));
    CHECK(e.post(cookie, save_body(csrf, "review", "0", "2027-01-01")).status == 400);
    CHECK(e.post(cookie, save_body(csrf, "summary", "zero", "x")).status == 400);
    CHECK(e.post(cookie, save_body(csrf, "why", "0", "x", "&item=9")).status == 400);
    CHECK(e.post(cookie, std::string(300'000, 'a')).status == 413);
    CHECK(e.bot.service.revisions(1).size() == before);
}

TEST_CASE("editing: a post without a valid anti-forgery token is refused with 403") {
    Editing e;
    e.bot.declare();
    const std::string alice = e.sign_in_as("alice");
    const std::string bob = e.sign_in_as("bob");
    const std::string alice_csrf =
        field_of(e.get("/incidents/INC-1/postmortem", alice).body, "edit-summary", "csrf");
    for (const std::string& body : {std::string("section=summary&based_on=0&text=forged"),
                                    save_body("", "summary", "0", "forged"),
                                    save_body(std::string(64, '0'), "summary", "0", "forged"),
                                    save_body(alice_csrf.substr(1), "summary", "0", "forged")}) {
        CAPTURE(body);
        const WebResponse res = e.post(alice, body);
        CHECK(res.status == 403);
        CHECK(contains(res.body, "anti-forgery"));
    }
    // Alice's token in Bob's session, and a post with no session at all.
    CHECK(e.post(bob, save_body(alice_csrf, "summary", "0", "forged")).status == 403);
    CHECK(e.post("", save_body(alice_csrf, "summary", "0", "forged")).status == 403);
    CHECK(e.bot.service.revisions(1).empty());
}

TEST_CASE("editing: a save from a stale revision shows both texts and loses neither") {
    Editing e;
    e.bot.declare();
    const std::string alice = e.sign_in_as("alice");
    const std::string bob = e.sign_in_as("bob");
    const std::string alice_page = e.get("/incidents/INC-1/postmortem", alice).body;
    const std::string bob_page = e.get("/incidents/INC-1/postmortem", bob).body;
    const std::string based_on = field_of(bob_page, "edit-impact.customers", "based_on");

    CHECK(e.post(alice, save_body(field_of(alice_page, "edit-impact.customers", "csrf"),
                                  "impact.customers", based_on, "alice: 30% failed"))
              .status == 303);
    const WebResponse conflict =
        e.post(bob, save_body(field_of(bob_page, "edit-impact.customers", "csrf"),
                              "impact.customers", based_on, "bob: a third failed"));
    CHECK(conflict.status == 409);
    CHECK(contains(conflict.body, "alice: 30% failed"));
    CHECK(contains(conflict.body, "bob: a third failed</textarea>"));
    CHECK(contains(conflict.body, "@alice saved this section"));
    // Bob's new form is based on Alice's revision.
    const auto theirs = e.bot.service.sections(1).impact_customers;
    REQUIRE(theirs);
    CHECK(field_of(conflict.body, "edit-impact.customers", "based_on") ==
          std::to_string(theirs->id));
    CHECK(impact(e) == "alice: 30% failed");

    const WebResponse history = e.get("/incidents/INC-1/postmortem/history", bob);
    CHECK(history.status == 200);
    CHECK(contains(history.body, "alice: 30% failed"));
    CHECK(contains(history.body, "bob: a third failed"));
    CHECK(contains(history.body, "set aside"));
    CHECK(contains(history.body, "in the draft"));

    // Merged from the newer revision: saved.
    CHECK(e.post(bob, save_body(field_of(conflict.body, "edit-impact.customers", "csrf"),
                                "impact.customers", std::to_string(theirs->id), "both: 30%"))
              .status == 303);
    CHECK(impact(e) == "both: 30%");
}

TEST_CASE("editing: a closed incident's post-mortem is final on the dashboard too") {
    Editing e;
    const std::string ch = e.bot.declare();
    const std::string cookie = e.sign_in_as("alice");
    const std::string csrf =
        field_of(e.get("/incidents/INC-1/postmortem", cookie).body, "edit-summary", "csrf");
    REQUIRE(e.bot.command("resolve done", "alice", ch).reply.ok);
    REQUIRE(e.bot.command("close force no time", "alice", ch).reply.ok);
    const auto before = e.bot.service.revisions(1).size();
    const WebResponse res = e.post(cookie, save_body(csrf, "impact.customers", "0", "late"));
    CHECK(res.status == 409);
    CHECK(contains(res.body, "INC-1 is closed"));
    CHECK(contains(res.body, "late</textarea>"));
    CHECK(e.bot.service.revisions(1).size() == before);
    const std::string page = e.get("/incidents/INC-1/postmortem", cookie).body;
    CHECK(contains(page, "is closed, so its post-mortem is final"));
    CHECK_FALSE(contains(page, "<textarea"));
}

TEST_CASE("editing: the Sign in button works only from the link's page in this browser") {
    Editing e;
    e.bot.declare();
    const std::string path = e.login_path("alice");
    const auto cookie_of = [](const WebResponse& res) {
        const std::string set_cookie = header(res, "Set-Cookie").value_or("");
        return set_cookie.substr(0, set_cookie.find(';'));
    };
    const WebResponse mine = e.get(path);
    const WebResponse theirs = e.get(path);
    const std::string token = field_of(mine.body, "sign-in-form", "csrf");
    // A post from another site: no cookie (SameSite=Strict), or a token it made up, or the
    // token of a page another browser was shown.
    for (const auto& [cookie, csrf] : {std::pair<std::string, std::string>{"", ""},
                                       {"", token},
                                       {cookie_of(mine), ""},
                                       {cookie_of(mine), "0123abcd"},
                                       {cookie_of(theirs), token}}) {
        CAPTURE(cookie);
        std::map<std::string, std::string> headers = k_form;
        if (!cookie.empty()) headers["cookie"] = cookie;
        const WebResponse res = e.request("POST", path, headers, "csrf=" + csrf);
        CHECK(res.status == 403);
        CHECK(contains(res.body, "not sent from the page of the link"));
        CHECK_FALSE(header(res, "Set-Cookie"));
    }
    // None of them spent the link.
    std::map<std::string, std::string> headers = k_form;
    headers["cookie"] = cookie_of(mine);
    const WebResponse res = e.request("POST", path, headers, "csrf=" + token);
    CHECK(res.status == 303);
    CHECK(header(res, "Set-Cookie").value_or("").starts_with("incident_bot_person=s1."));
}

namespace {

const std::string k_actions = "/incidents/INC-1/postmortem/actions";

std::string add_body(const std::string& csrf, const std::string& kind, const std::string& text,
                     const std::string& owner = {}, const std::string& due = {}) {
    return "csrf=" + csrf + "&do=add&kind=" + kind + "&text=" + percent_encode(text) +
           "&owner=" + percent_encode(owner) + "&due=" + percent_encode(due);
}

std::string done_body(const std::string& csrf, const std::string& item) {
    return "csrf=" + csrf + "&do=done&item=" + item;
}

std::string edit_body(const std::string& csrf, const std::string& item, const std::string& text,
                      const std::string& owner = {}, const std::string& due = {}) {
    return "csrf=" + csrf + "&do=edit&item=" + item + "&text=" + percent_encode(text) +
           "&owner=" + percent_encode(owner) + "&due=" + percent_encode(due);
}

}  // namespace

TEST_CASE("editing: a signed-in person adds and completes action items like the chat commands") {
    Editing e;
    const std::string ch = e.bot.declare();
    const std::string cookie = e.sign_in_as("carol");
    const std::string page = e.get("/incidents/INC-1/postmortem", cookie).body;
    CHECK(contains(page, "<section id=\"actions\">"));
    const std::string csrf = field_of(page, "add-corrective", "csrf");
    CHECK(field_of(page, "add-preventive", "kind") == "preventive");

    const WebResponse added = e.post(
        cookie, add_body(csrf, "corrective", "Add a guard for empty pools", "bob", "2026-12-20"),
        k_actions);
    CHECK(added.status == 303);
    CHECK(header(added, "Location") == "/incidents/INC-1/postmortem#actions");
    // The same form submitted twice adds one item.
    CHECK(e.post(cookie,
                 add_body(csrf, "corrective", "Add a guard for empty pools", "bob", "2026-12-20"),
                 k_actions)
              .status == 303);
    CHECK(e.post(cookie, add_body(csrf, "preventive", "Lint pool sizes in CI", "@dave"), k_actions)
              .status == 303);
    // Chat numbers with them: the next item is 3.
    REQUIRE(e.bot.command("todo Page the owner of the config", "alice", ch).reply.ok);

    auto items = e.bot.service.actions(1);
    REQUIRE(items.size() == 3);
    CHECK(items[0].number == 1);
    CHECK(items[0].text == "Add a guard for empty pools @bob");
    CHECK(items[0].owner == "@bob");
    CHECK(items[0].due == "2026-12-20");
    CHECK(items[0].kind == ActionKind::corrective);
    CHECK(items[0].author.id == "U-carol");
    CHECK(items[1].kind == ActionKind::preventive);
    CHECK(items[1].owner == "@dave");
    CHECK(items[2].number == 3);

    const std::string with_items = e.get("/incidents/INC-1/postmortem", cookie).body;
    for (const char* form : {"done-1", "done-2", "done-3"}) {
        CHECK_MESSAGE(contains(with_items, "id=\"" + std::string(form) + "\""), form);
    }
    const WebResponse done = e.post(cookie, done_body(csrf, "2"), k_actions);
    CHECK(done.status == 303);
    items = e.bot.service.actions(1);
    CHECK(items[1].status == ActionStatus::done);
    CHECK(items[0].status == ActionStatus::open);
    CHECK_FALSE(contains(e.get("/incidents/INC-1/postmortem", cookie).body, "id=\"done-2\""));
    // As `/incident done 2` would: on the timeline, attributed to the person signed in.
    bool on_timeline = false;
    for (const auto& entry : e.bot.service.timeline(1)) {
        on_timeline =
            on_timeline || (entry.text == "Action item 2 done: Lint pool sizes in CI @dave" &&
                            entry.author.id == "U-carol");
    }
    CHECK(on_timeline);
    // Chat refuses it again, as the dashboard would.
    CHECK_FALSE(e.bot.command("done 2", "alice", ch).reply.ok);

    const std::string markdown = e.get("/incidents/INC-1/postmortem.md", cookie).body;
    CHECK(contains(markdown, "Add a guard for empty pools @bob"));
    CHECK(contains(markdown, "Preventive measures"));
    CHECK(contains(markdown, "Lint pool sizes in CI"));
    const auto json = nlohmann::json::parse(e.get("/api/incidents/INC-1", cookie).body);
    REQUIRE(json["action_items"].size() == 3);
    CHECK(json["action_items"][0]["owner"] == "@bob");
    CHECK(json["action_items"][0]["due"] == "2026-12-20");
    CHECK(json["action_items"][1]["kind"] == "preventive");
    CHECK(json["action_items"][1]["status"] == "done");
}

TEST_CASE("editing: bad action item forms say what is wrong and change nothing") {
    Editing e;
    const std::string ch = e.bot.declare();
    const std::string cookie = e.sign_in_as("alice");
    const std::string csrf =
        field_of(e.get("/incidents/INC-1/postmortem", cookie).body, "add-corrective", "csrf");
    REQUIRE(e.post(cookie, add_body(csrf, "corrective", "Keep one"), k_actions).status == 303);
    const auto unchanged = [&] {
        const auto items = e.bot.service.actions(1);
        return items.size() == 1 && items[0].status == ActionStatus::open &&
               items[0].text == "Keep one";
    };

    struct Case {
        std::string cookie, body;
        int status;
        std::string says;
    };
    const std::string too_long(k_max_section_chars + 1, 'x');
    for (const Case& c : std::vector<Case>{
             {cookie, add_body(csrf, "corrective", "   "), 400, "text is empty"},
             {cookie, add_body(csrf, "preventive", too_long), 413, "longer than 20000"},
             {cookie, add_body(csrf, "corrective", "Fix it", "", "2026-13-45"), 400, "2026-13-45"},
             {cookie, add_body(csrf, "corrective", "Fix it", "", "next week"), 400, "next week"},
             {cookie, add_body(csrf, "corrective", "Fix it", "bob smith"), 400, "not one person"},
             {cookie, done_body(csrf, "9"), 400, "has no action item 9"},
             {cookie, done_body(csrf, "one"), 400, "is not an action item number"},
             {cookie, done_body(csrf, ""), 400, "is not an action item number"},
             {cookie, edit_body(csrf, "9", "Fix it"), 400, "has no action item 9"},
             {cookie, edit_body(csrf, "x", "Fix it"), 400, "is not an action item number"},
             {cookie, edit_body(csrf, "1", " "), 400, "text is empty"},
             {cookie, edit_body(csrf, "1", too_long), 413, "longer than 20000"},
             {cookie, edit_body(csrf, "1", "Keep one", "", "2026-02-30"), 400, "2026-02-30"},
             {cookie, edit_body(csrf, "1", "Keep one", "bob smith"), 400, "not one person"},
             {cookie, edit_body(csrf, "1", "Keep one"), 400, "nothing changed"},
             {cookie, "do=add&kind=corrective&text=Fix", 403, "anti-forgery token"},
             {cookie, add_body("forged", "corrective", "Fix"), 403, "anti-forgery token"},
             {"", add_body(csrf, "corrective", "Fix"), 403, "/incident login"},
             {cookie, "csrf=" + csrf + "&do=add&kind=other&text=Fix", 400, "corrective or"},
             {cookie, "csrf=" + csrf + "&do=erase&item=1", 400, "neither add, edit nor done"},
         }) {
        CAPTURE(c.body.substr(0, 120));
        const WebResponse res = e.post(c.cookie, c.body, k_actions);
        CHECK(res.status == c.status);
        CHECK_MESSAGE(contains(res.body, c.says), res.body);
        CHECK(unchanged());
    }
    // A GET changes nothing either.
    CHECK(e.get(k_actions, cookie).status == 405);

    // A closed incident takes no new items, but its open ones are still followed up.
    REQUIRE(e.bot.command("resolve done", "alice", ch).reply.ok);
    REQUIRE(e.bot.command("close force no time", "alice", ch).reply.ok);
    const WebResponse late = e.post(cookie, add_body(csrf, "corrective", "Late"), k_actions);
    CHECK(late.status == 400);
    CHECK(contains(late.body, "INC-1 is closed"));
    CHECK(unchanged());
    const std::string closed_page = e.get("/incidents/INC-1/postmortem", cookie).body;
    CHECK(contains(closed_page, "id=\"done-1\""));
    CHECK(contains(closed_page, "id=\"edit-1\""));
    CHECK_FALSE(contains(closed_page, "id=\"add-corrective\""));
    CHECK(e.post(cookie, done_body(csrf, "1"), k_actions).status == 303);
    CHECK(e.bot.service.actions(1).at(0).status == ActionStatus::done);
}

TEST_CASE("editing: an action item's text, owner and due date are changed from its form") {
    Editing e;
    const std::string ch = e.bot.declare();
    REQUIRE(e.bot.command("todo page the vendor @bob due:2026-12-10", "alice", ch).reply.ok);
    const std::string cookie = e.sign_in_as("carol");
    const std::string page = e.get("/incidents/INC-1/postmortem", cookie).body;
    // The form starts from the item as it is.
    CHECK(field_of(page, "edit-1", "owner") == "@bob");
    CHECK(field_of(page, "edit-1", "due") == "2026-12-10");
    CHECK(contains(page, ">page the vendor @bob</textarea>"));
    const std::string csrf = field_of(page, "edit-1", "csrf");

    const WebResponse saved = e.post(
        cookie, edit_body(csrf, "1", "page the vendor's on-call", "dave", "2026-12-12"), k_actions);
    CHECK(saved.status == 303);
    CHECK(header(saved, "Location") == "/incidents/INC-1/postmortem#actions");
    ActionItem item = e.bot.service.actions(1).at(0);
    CHECK(item.text == "page the vendor's on-call");
    CHECK(item.owner == "@dave");
    CHECK(item.due == "2026-12-12");
    bool on_timeline = false;
    for (const auto& entry : e.bot.service.timeline(1)) {
        on_timeline = on_timeline || (entry.author.id == "U-carol" &&
                                      contains(entry.text, "Action item 1 now reads"));
    }
    CHECK(on_timeline);
    // Emptied fields mean nobody and no date.
    CHECK(e.post(cookie, edit_body(csrf, "1", "page the vendor's on-call"), k_actions).status ==
          303);
    item = e.bot.service.actions(1).at(0);
    CHECK(item.owner.empty());
    CHECK_FALSE(item.due.has_value());
    CHECK(contains(e.bot.command("todos", "alice", ch).reply.text, "1. [ ] page the vendor's"));
}

TEST_CASE("editing: free-form notes are written on the dashboard, in the draft and the JSON") {
    Editing e;
    e.bot.declare();
    const std::string cookie = e.sign_in_as("alice");
    const std::string page = e.get("/incidents/INC-1/postmortem", cookie).body;
    CHECK(contains(page, "id=\"edit-notes\""));
    CHECK_FALSE(contains(e.get("/incidents/INC-1/postmortem.md").body, "## Notes"));
    const std::string csrf = field_of(page, "edit-notes", "csrf");

    // Bad input: nothing saved, and what to do instead.
    const WebResponse empty = e.post(cookie, save_body(csrf, "notes", "0", "  \n "));
    CHECK(empty.status == 400);
    CHECK(contains(empty.body, "type the notes in the Notes form"));
    const WebResponse too_long =
        e.post(cookie, save_body(csrf, "notes", "0", std::string(k_max_section_chars + 1, 'x')));
    CHECK(too_long.status == 400);
    CHECK(contains(too_long.body, "at most 20000"));
    CHECK(e.bot.service.revisions(1).empty());

    const std::string notes = "Vendor ticket 4411 is open.\n\n- **Ask** for their timeline";
    CHECK(e.post(cookie, save_body(csrf, "notes", "0", notes)).status == 303);
    const auto written = e.bot.service.sections(1).notes;
    REQUIRE(written);
    CHECK(written->text == notes);
    CHECK(written->author == Actor{"U-alice", "alice"});
    CHECK(contains(e.get("/incidents/INC-1/postmortem.md").body, "## Notes\n\n" + notes + "\n\n"));
    const auto json = nlohmann::json::parse(e.get("/api/incidents/INC-1", cookie).body);
    CHECK(json["notes"] == notes);
    CHECK(json["revisions"][0]["section"] == "notes");
    // A second text replaces it in the draft; both are in the history.
    const std::string after = e.get("/incidents/INC-1/postmortem", cookie).body;
    CHECK(e.post(cookie, save_body(csrf, "notes", field_of(after, "edit-notes", "based_on"),
                                   "Vendor ticket 4411 is closed."))
              .status == 303);
    CHECK(e.bot.service.sections(1).notes->text == "Vendor ticket 4411 is closed.");
    const std::string history = e.get("/incidents/INC-1/postmortem/history", cookie).body;
    CHECK(contains(history, "Vendor ticket 4411 is open."));
    CHECK(contains(history, "Vendor ticket 4411 is closed."));
    CHECK(contains(history, "Notes"));
}

TEST_CASE("editing: the Publish button publishes the draft like the chat command, once per form") {
    Editing e;
    const std::string ch = e.bot.declare();
    std::vector<std::string> announced;
    e.bot.service.add_effect_listener([&](const Effect& effect) {
        const auto* post = std::get_if<PostMessage>(&effect);
        // The announcement of the post-mortem, not of the incident's states.
        if (post && std::holds_alternative<ToAnnouncements>(post->to) &&
            contains(post->text, "/postmortem/v")) {
            announced.push_back(post->text);
        }
    });
    const std::string alice = e.sign_in_as("alice");
    const std::string bob = e.sign_in_as("bob");
    const std::string k_publish = "/incidents/INC-1/postmortem/publish";
    const std::string open_page = e.get("/incidents/INC-1/postmortem", alice).body;
    CHECK_FALSE(contains(open_page, "id=\"publish-form\""));
    CHECK(contains(open_page, "to publish its post-mortem"));
    const std::string csrf = field_of(open_page, "edit-summary", "csrf");

    // Not resolved yet: refused, and nothing frozen.
    const WebResponse early = e.post(alice, "csrf=" + csrf + "&versions=0", k_publish);
    CHECK(early.status == 409);
    CHECK(contains(early.body, "Resolve the incident before publishing"));
    CHECK(contains(early.body, "Nothing was published"));
    CHECK(e.bot.service.published(1).empty());

    REQUIRE(e.bot.command("resolve pool emptied; rolled back", "alice", ch).reply.ok);
    const std::string page = e.get("/incidents/INC-1/postmortem", alice).body;
    CHECK(contains(page, "Publish version 1"));
    CHECK(field_of(page, "publish-form", "versions") == "0");
    const std::string bob_csrf =
        field_of(e.get("/incidents/INC-1/postmortem", bob).body, "publish-form", "csrf");

    // No token, a forged one, no session, no version seen: refused, nothing published.
    CHECK(e.post(alice, "versions=0", k_publish).status == 403);
    CHECK(e.post(alice, "csrf=forged&versions=0", k_publish).status == 403);
    CHECK(e.post("", "csrf=" + csrf + "&versions=0", k_publish).status == 403);
    CHECK(e.post(alice, "csrf=" + csrf, k_publish).status == 400);
    CHECK(e.get(k_publish, alice).status == 405);
    CHECK(e.bot.service.published(1).empty());
    CHECK(announced.empty());

    const std::string body = field_of(page, "publish-form", "csrf");
    const WebResponse published = e.post(alice, "csrf=" + body + "&versions=0", k_publish);
    CHECK(published.status == 303);
    CHECK(header(published, "Location") == "/incidents/INC-1/postmortem/v1");
    auto versions = e.bot.service.published(1);
    REQUIRE(versions.size() == 1);
    CHECK(versions[0].by == Actor{"U-alice", "alice"});
    REQUIRE(announced.size() == 1);
    CHECK(contains(announced[0], "https://bot.example.com/incidents/INC-1/postmortem/v1"));
    CHECK(e.get("/incidents/INC-1/postmortem/v1", alice).status == 200);
    // Clicked twice: one version.
    CHECK(header(e.post(alice, "csrf=" + body + "&versions=0", k_publish), "Location") ==
          "/incidents/INC-1/postmortem/v1");
    CHECK(e.bot.service.published(1).size() == 1);

    // Bob's page was opened before Alice published: his click publishes nothing.
    const WebResponse stale = e.post(bob, "csrf=" + bob_csrf + "&versions=0", k_publish);
    CHECK(stale.status == 409);
    CHECK(contains(stale.body, "Version 1 was published by @alice since you opened the page"));
    CHECK(e.bot.service.published(1).size() == 1);
    CHECK(announced.size() == 1);

    // From the page as it is now, the next version.
    const std::string again = e.get("/incidents/INC-1/postmortem", bob).body;
    CHECK(contains(again, "Publish version 2"));
    CHECK(header(e.post(bob, "csrf=" + bob_csrf + "&versions=1", k_publish), "Location") ==
          "/incidents/INC-1/postmortem/v2");
    versions = e.bot.service.published(1);
    REQUIRE(versions.size() == 2);
    CHECK(versions[1].by.name == "bob");
}
