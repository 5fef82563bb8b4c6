#include <doctest/doctest.h>

#include "adapters/slack/decode.hpp"

using namespace incident;

// Inputs the fuzzers (tests/fuzz) and the fault tests found, kept so the fixes stay fixed.
TEST_CASE("slack ts: a sign, or more seconds than milliseconds can count, is not a ts") {
    CHECK(slack::parse_ts("-2") == 0);
    CHECK(slack::parse_ts("-1610241741.000200") == 0);
    CHECK(slack::parse_ts("+1610241741.000200") == 0);
    // Was a signed overflow (undefined behaviour) in seconds * 1000.
    CHECK(slack::parse_ts("9223372036854775807.000100") == 0);
    CHECK(slack::parse_ts("9223372036854775.807") == 0);
    CHECK(slack::parse_ts("1610241741.000200") == 1'610'241'741'000);
    CHECK(slack::parse_ts("1610241741") == 1'610'241'741'000);
}

TEST_CASE("slack envelopes: a payload nested 100,000 deep is parsed without running out of stack") {
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    std::string error;
    const auto envelope = slack::parse_envelope(
        R"({"envelope_id":"e1","type":"events_api","payload":)" + deep + "}", error);
    REQUIRE(envelope);
    CHECK(envelope->payload.is_array());
    CHECK_FALSE(slack::decode_event_callback(envelope->payload).malformed.empty());
}
