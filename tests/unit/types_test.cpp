#include <doctest/doctest.h>

#include "bot/text.hpp"
#include "bot/types.hpp"

using namespace incident;

TEST_CASE("severities parse from 1-5 and sevN in any case, nothing else") {
    CHECK(parse_severity("1") == Severity::sev1);
    CHECK(parse_severity("SEV2") == Severity::sev2);
    CHECK(parse_severity("sev5") == Severity::sev5);
    CHECK_FALSE(parse_severity("0"));
    CHECK_FALSE(parse_severity("6"));
    CHECK_FALSE(parse_severity("sev"));
    CHECK_FALSE(parse_severity("sev12"));
    CHECK_FALSE(parse_severity("high"));
    CHECK(to_string(Severity::sev1) == "SEV1");
    CHECK(describe(Severity::sev5) == "cosmetic");
}

TEST_CASE("states, roles and incident keys round-trip") {
    for (const State s : {State::investigating, State::identified, State::monitoring,
                          State::resolved, State::closed, State::merged}) {
        CHECK(parse_state(to_string(s)) == s);
    }
    CHECK(parse_role("IC") == Role::commander);
    CHECK(parse_role("sme") == Role::sme);
    CHECK_FALSE(parse_role("boss"));
    CHECK(incident_key(7) == "INC-7");
    CHECK(parse_incident_key("inc-12") == 12);
    CHECK_FALSE(parse_incident_key("INC-"));
    CHECK_FALSE(parse_incident_key("INC-0"));
    CHECK_FALSE(parse_incident_key("INC-7x"));
    CHECK_FALSE(parse_incident_key("7"));
}

TEST_CASE("UTF-8 validation rejects malformed, overlong and surrogate sequences") {
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8("caf\xC3\xA9 \xF0\x9F\x93\x8C"));  // café 📌
    CHECK_FALSE(is_valid_utf8("\xC3"));                    // truncated
    CHECK_FALSE(is_valid_utf8("\xC0\xAF"));                // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));            // surrogate
    CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));        // past U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xFF"));
}

TEST_CASE("long texts are clipped for display by characters, with what was left out") {
    CHECK(clip_for_display("short", 5) == "short");
    CHECK(clip_for_display("", 0) == "");
    CHECK(clip_for_display("abcdef", 4) == "abcd… (2 more characters, see the JSON export)");
    // Counted in characters, and never cut inside one.
    CHECK(clip_for_display("€€€", 3) == "€€€");
    CHECK(clip_for_display("é€🔥x", 2) == "é€… (2 more characters, see the JSON export)");
    const std::string long_text(k_display_chars + 10, 'a');
    CHECK(clip_for_display(long_text) ==
          std::string(k_display_chars, 'a') + "… (10 more characters, see the JSON export)");
}

TEST_CASE("slugs are channel-safe and bounded") {
    CHECK(slugify("Checkout is DOWN!!", 40) == "checkout-is-down");
    CHECK(slugify("   ", 40) == "incident");
    CHECK(slugify("日本語", 40) == "incident");
    CHECK(slugify("a very long title that goes on and on", 10).size() <= 10);
    CHECK(slugify("a very long title that goes on and on", 10).back() != '-');
}

TEST_CASE("dates and durations") {
    CHECK(is_valid_date("2026-12-01"));
    CHECK(is_valid_date("2028-02-29"));
    CHECK_FALSE(is_valid_date("2026-02-29"));
    CHECK_FALSE(is_valid_date("2026-13-01"));
    CHECK_FALSE(is_valid_date("26-12-01"));
    CHECK_FALSE(is_valid_date("2026/12/01"));
    CHECK(format_time(0) == "1970-01-01T00:00:00Z");
    CHECK(format_time(1'795'428'000'000) == "2026-11-23T10:00:00Z");
    CHECK(format_duration(0, 45'000) == "45s");
    CHECK(format_duration(0, 65'000) == "1m 05s");
    CHECK(format_duration(0, 3'900'000) == "1h 05m");
    CHECK(format_duration(0, 2 * 86'400'000 + 3'600'000) == "2d 1h");
}
