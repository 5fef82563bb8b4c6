#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "adapters/notify/email_message.hpp"
#include "adapters/notify/redact.hpp"
#include "adapters/notify/signature.hpp"
#include "adapters/notify/webhook_sink.hpp"
#include "events.hpp"

using namespace incident;
using namespace incident::notify;
using incident::notify::testing::k_at;
using incident::notify::testing::sample_event;

TEST_CASE("signature: HMAC-SHA256 matches RFC 4231 and signs timestamp.body") {
    // RFC 4231, test case 2.
    CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(sign_webhook("s3cret", "1795428000", R"({"a":1})") ==
          "v1=" + hmac_sha256_hex("s3cret", R"(1795428000.{"a":1})"));
}

TEST_CASE("signature: verification is exact, keyed and fresh") {
    const std::string body = R"({"event":"resolved"})";
    const std::string ts = "1795428000";
    const std::string sig = sign_webhook("s3cret", ts, body);
    CHECK(verify_webhook("s3cret", ts, body, sig));
    CHECK(verify_webhook("s3cret", ts, body, sig, 1795428000 + 299));
    CHECK_FALSE(verify_webhook("s3cret", ts, body, sig, 1795428000 + 301));
    CHECK_FALSE(verify_webhook("s3cret", ts, body, sig, 1795428000 - 301));
    CHECK_FALSE(verify_webhook("other", ts, body, sig));
    CHECK_FALSE(verify_webhook("s3cret", ts, body + " ", sig));
    CHECK_FALSE(verify_webhook("s3cret", "1795428001", body, sig));
    CHECK_FALSE(verify_webhook("s3cret", ts, body, sig.substr(0, sig.size() - 1)));
    CHECK_FALSE(verify_webhook("s3cret", ts, body, "v0=" + sig.substr(3)));
    CHECK_FALSE(verify_webhook("s3cret", "soon", body, sign_webhook("s3cret", "soon", body), 5));
    CHECK_FALSE(verify_webhook("", ts, body, sign_webhook("", ts, body)));
}

TEST_CASE("delivery ids are stable per event and differ between events") {
    const Notify a = sample_event(NotifyKind::resolved);
    CHECK(delivery_id(a) == delivery_id(a));
    CHECK(delivery_id(a).size() == 32);
    Notify b = a;
    b.kind = NotifyKind::closed;
    CHECK(delivery_id(a) != delivery_id(b));
    b = a;
    b.at += 1;
    CHECK(delivery_id(a) != delivery_id(b));
}

TEST_CASE("webhook body: the event and the incident's basics") {
    Notify n = sample_event(NotifyKind::resolved);
    n.final_severity = Severity::sev3;
    const auto j = nlohmann::json::parse(webhook_body(n, "abc"));
    CHECK(j["id"] == "abc");
    CHECK(j["event"] == "resolved");
    CHECK(j["at"] == "2026-11-23T10:00:00Z");
    CHECK(j["at_ms"] == k_at + 7);
    CHECK(j["text"] == "resolved by @alice");
    CHECK(j["by"]["name"] == "alice");
    const auto& inc = j["incident"];
    CHECK(inc["number"] == 7);
    CHECK(inc["key"] == "INC-7");
    CHECK(inc["title"] == "Checkout returns 502s");
    CHECK(inc["severity"] == "SEV2");
    CHECK(inc["final_severity"] == "SEV3");
    CHECK(inc["state"] == "resolved");
    CHECK(inc["merged_into"].is_null());
    CHECK(inc["link"] == "https://bot.example.com/incidents/INC-7");
    CHECK(inc["postmortem_link"] == "https://bot.example.com/incidents/INC-7/postmortem");
    n.link.clear();
    n.kind = NotifyKind::merged;
    n.merged_into = 3;
    const auto k = nlohmann::json::parse(webhook_body(n, "x"));
    CHECK(k["incident"]["link"].is_null());
    CHECK(k["incident"]["merged_into"] == "INC-3");
}

TEST_CASE("email: which events, subject and body") {
    CHECK(emails_about(NotifyKind::declared));
    CHECK(emails_about(NotifyKind::resolved));
    CHECK(emails_about(NotifyKind::postmortem_published));
    CHECK_FALSE(emails_about(NotifyKind::update));
    CHECK_FALSE(emails_about(NotifyKind::severity));
    CHECK_FALSE(emails_about(NotifyKind::closed));
    CHECK_FALSE(emails_about(NotifyKind::status_page));
    CHECK_FALSE(emails_about(NotifyKind::component));

    Notify n = sample_event(NotifyKind::resolved);
    CHECK(email_subject(n) == "[INC-7 SEV2] Checkout returns 502s: resolved");
    n.final_severity = Severity::sev3;
    CHECK(email_subject(n) == "[INC-7 SEV3] Checkout returns 502s: resolved");
    n.kind = NotifyKind::postmortem_published;
    CHECK(email_subject(n) == "[INC-7 SEV3] Checkout returns 502s: post-mortem published");
    const std::string body = email_body(n);
    CHECK(body.find("Post-mortem: https://bot.example.com/incidents/INC-7/postmortem") !=
          std::string::npos);
    CHECK(body.find("Severity: SEV2 (major), final SEV3") != std::string::npos);
    n.title = "Line\r\nBcc: everyone@example.com";
    CHECK(email_subject(n).find('\n') == std::string::npos);
    CHECK(address_of("Incident Bot <bot@example.com>") == "bot@example.com");
    CHECK(address_of("bot@example.com") == "bot@example.com");
}

TEST_CASE("email message: headers, CRLF, and encodings for non-ASCII") {
    const Notify n = sample_event(NotifyKind::declared);
    const std::string m = email_message(n, "Incident Bot <bot@example.com>",
                                        {"a@example.com", "b@example.com"}, "id1@example.com");
    CHECK(
        m.starts_with("From: Incident Bot <bot@example.com>\r\nTo: a@example.com,\r\n "
                      "b@example.com\r\nSubject: [INC-7 SEV2] Checkout returns 502s: "
                      "declared\r\n"));
    CHECK(m.find("Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n") != std::string::npos);
    CHECK(m.find("Message-ID: <id1@example.com>\r\n") != std::string::npos);
    CHECK(m.find("Content-Transfer-Encoding: 7bit\r\n") != std::string::npos);
    CHECK(m.find("\r\n\r\nINC-7: Checkout returns 502s\r\n") != std::string::npos);
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (m[i] == '\n') REQUIRE(i > 0);
        if (m[i] == '\n') CHECK(m[i - 1] == '\r');
    }

    const Notify utf8 = sample_event(NotifyKind::declared, 8, "Zahlungen schlagen fehl — 🔥");
    const std::string u = email_message(utf8, "bot@example.com", {"a@example.com"}, "x@y");
    CHECK(u.find("Subject: =?UTF-8?B?") != std::string::npos);
    CHECK(u.find("Content-Transfer-Encoding: base64\r\n") != std::string::npos);
    CHECK(u.find("—") == std::string::npos);  // nothing but ASCII on the wire
}

TEST_CASE("server words: one line, bounded, secrets gone before anything is cut") {
    CHECK(server_words("550 5.1.1 unknown\r\n550 mailbox gone\r\n", {}) ==
          "550 5.1.1 unknown 550 mailbox gone");
    CHECK(server_words("denied for hunter2, really hunter2", {"hunter2", ""}) ==
          "denied for [redacted], really [redacted]");
    // Cut in the middle of where the secret was: none of it is left.
    const std::string cut = server_words("xxxxxxxxxx s3cr3t-value-long", {"s3cr3t-value-long"}, 16);
    CHECK(cut.find("s3cr") == std::string::npos);
    CHECK(cut.size() <= 16);
    CHECK(server_words(std::string(1000, 'a'), {}).size() <= 300);
}

TEST_CASE("webhook body: a status page publication says what customers were told") {
    Notify n = sample_event(NotifyKind::status_page);
    n.text = "Some checkouts are failing.";
    n.public_state = PublicState::identified;
    auto j = nlohmann::json::parse(webhook_body(n, "abc"));
    CHECK(j["event"] == "status_page");
    CHECK(j["text"] == "Some checkouts are failing.");
    CHECK(j["public_state"] == "identified");
    CHECK_FALSE(j.contains("component"));

    n = sample_event(NotifyKind::component);
    n.component = "API";
    n.component_status = ComponentStatus::partial_outage;
    j = nlohmann::json::parse(webhook_body(n, "abc"));
    CHECK(j["event"] == "component");
    CHECK(j["component"] == nlohmann::json{{"name", "API"}, {"status", "partial-outage"}});
    CHECK_FALSE(j.contains("public_state"));
    // The other events are as they were.
    CHECK_FALSE(nlohmann::json::parse(webhook_body(sample_event(NotifyKind::update), "x"))
                    .contains("public_state"));
}
