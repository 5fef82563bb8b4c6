#include <doctest/doctest.h>

#include "adapters/web/filter.hpp"
#include "adapters/web/query.hpp"
#include "adapters/web/session.hpp"

using namespace incident;
using namespace incident::web;

TEST_CASE("query: percent-decoding is strict") {
    CHECK(percent_decode("a%20b+c", true) == "a b c");
    CHECK(percent_decode("a+b", false) == "a+b");
    CHECK(percent_decode("%E2%9C%93", false) == "✓");
    CHECK_THROWS_AS(percent_decode("%", true), BadRequest);
    CHECK_THROWS_AS(percent_decode("%4", true), BadRequest);
    CHECK_THROWS_AS(percent_decode("%zz", true), BadRequest);
    CHECK_THROWS_AS(percent_decode("%00", true), BadRequest);
    CHECK_THROWS_AS(percent_decode("%FF%FE", true), BadRequest);  // not UTF-8
}

TEST_CASE("query: parse_query") {
    const auto p = parse_query("state=all&severity=SEV2&q=checkout+502%21&&flag");
    CHECK(p.at("state") == "all");
    CHECK(p.at("severity") == "SEV2");
    CHECK(p.at("q") == "checkout 502!");
    CHECK(p.at("flag").empty());
    CHECK(parse_query("").empty());
    CHECK_THROWS_AS(parse_query("q=a&q=b"), BadRequest);
    CHECK_THROWS_AS(parse_query("=x"), BadRequest);
    CHECK_THROWS_AS(parse_query("q=%G1"), BadRequest);
}

TEST_CASE("query: split_target") {
    const Target t = split_target("/incidents/INC%2D1?x=1");
    CHECK(t.path == "/incidents/INC-1");
    CHECK(t.query == "x=1");
    CHECK(split_target("/").query.empty());
    CHECK_THROWS_AS(split_target("incidents"), BadRequest);
    CHECK_THROWS_AS(split_target("http://evil.example/"), BadRequest);
    CHECK_THROWS_AS(split_target("/a b"), BadRequest);
    CHECK_THROWS_AS(split_target("/%zz"), BadRequest);
    CHECK_THROWS_AS(split_target("/" + std::string(9000, 'a')), BadRequest);
}

TEST_CASE("query: percent_encode round-trips") {
    const std::string text = "/?a=b&c=d e%✓";
    CHECK(percent_encode(text) == "/%3Fa%3Db%26c%3Dd%20e%25%E2%9C%93");
    CHECK(percent_decode(percent_encode(text), true) == text);
}

TEST_CASE("filter: values and errors") {
    ListFilter f = ListFilter::parse({});
    CHECK(f.state == "open");
    CHECK(!f.severity);
    CHECK(!f.include_closed());

    f = ListFilter::parse({{"state", "ALL"}, {"severity", "sev1"}, {"q", "  db  "}});
    CHECK(f.state == "all");
    CHECK(f.severity == Severity::sev1);
    CHECK(f.q == "db");
    CHECK(f.include_closed());
    CHECK(f.query_string() == "state=all&severity=SEV1&q=db");

    CHECK(ListFilter::parse({{"severity", ""}, {"state", ""}}).query_string().empty());
    CHECK_THROWS_WITH_AS(ListFilter::parse({{"severity", "SEV9"}}),
                         doctest::Contains("SEV1, SEV2, SEV3, SEV4 or SEV5"), BadRequest);
    CHECK_THROWS_AS(ListFilter::parse({{"state", "sleeping"}}), BadRequest);
    CHECK_THROWS_AS(ListFilter::parse({{"q", std::string(201, 'x')}}), BadRequest);
}

TEST_CASE("filter: matching") {
    Incident inc;
    inc.number = 12;
    inc.title = "Checkout returns 502s";
    inc.severity = Severity::sev2;
    inc.state = State::resolved;
    inc.channel_name = "inc-12-checkout";

    CHECK(ListFilter::parse({}).matches(inc));  // open: resolved is not closed yet
    CHECK(!ListFilter::parse({{"state", "active"}}).matches(inc));
    CHECK(ListFilter::parse({{"state", "resolved"}}).matches(inc));
    CHECK(!ListFilter::parse({{"state", "closed"}}).matches(inc));
    CHECK(ListFilter::parse({{"q", "CHECKOUT"}}).matches(inc));
    CHECK(ListFilter::parse({{"q", "inc-12"}}).matches(inc));
    CHECK(!ListFilter::parse({{"q", "database"}}).matches(inc));
    CHECK(ListFilter::parse({{"severity", "SEV2"}}).matches(inc));
    inc.final_severity = Severity::sev3;  // the final severity wins once set
    CHECK(!ListFilter::parse({{"severity", "SEV2"}}).matches(inc));
    CHECK(ListFilter::parse({{"severity", "3"}}).matches(inc));
    inc.state = State::closed;
    CHECK(!ListFilter::parse({}).matches(inc));
    CHECK(ListFilter::parse({{"state", "all"}}).matches(inc));
}

TEST_CASE("session: token, bearer and cookie") {
    const SessionAuth off("", 1000);
    CHECK(!off.enabled());
    CHECK(!off.token_matches(""));

    const SessionAuth auth("s3cret-token", 60'000);
    CHECK(auth.enabled());
    CHECK(auth.token_matches("s3cret-token"));
    CHECK(!auth.token_matches("s3cret-toke"));
    CHECK(!auth.token_matches(""));
    CHECK(auth.bearer_matches("Bearer s3cret-token"));
    CHECK(auth.bearer_matches("bearer  s3cret-token "));
    CHECK(!auth.bearer_matches("Basic s3cret-token"));
    CHECK(!auth.bearer_matches("Bearer wrong"));

    const std::string cookie = auth.issue(1'000);
    CHECK(cookie.find("s3cret") == std::string::npos);
    CHECK(cookie.starts_with("v1.61000."));
    CHECK(auth.session_valid(cookie, 1'000));
    CHECK(auth.session_valid(cookie, 60'999));
    CHECK(!auth.session_valid(cookie, 61'000));  // expired
    std::string forged = cookie;
    forged[4] = '0';  // another expiry without the key
    CHECK(!auth.session_valid(forged, 1'000));
    forged = cookie;
    forged.back() = forged.back() == 'a' ? 'b' : 'a';
    CHECK(!auth.session_valid(forged, 1'000));
    CHECK(!auth.session_valid("v1.61000", 1'000));
    CHECK(!auth.session_valid("", 1'000));
    CHECK(!SessionAuth("other-token", 60'000).session_valid(cookie, 1'000));

    CHECK(cookie_value("a=1; incident_bot_session=v1.2.ab; b=2", "incident_bot_session") ==
          "v1.2.ab");
    CHECK(cookie_value("xincident_bot_session=1", "incident_bot_session") == std::nullopt);
    CHECK(cookie_value("a=\"q\"", "a") == "q");
}
