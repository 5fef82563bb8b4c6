#include "adapters/net/json_repair.hpp"

#include <doctest/doctest.h>

using incident::net::describe_json_error;
using incident::net::find_string_field;
using incident::net::parse_json_repairing;
using incident::net::repair_json_strings;

TEST_CASE("json repair: escapes nlohmann rejects become U+FFFD, the rest is kept") {
    // The text after repair, and how many changes were made, as "text|count".
    const auto repaired = [](std::string_view text) {
        std::size_t n = 0;
        std::string out = repair_json_strings(text, n);
        return out + "|" + std::to_string(n);
    };
    // A lone high surrogate, a lone low one, one at the end of the string.
    CHECK(repaired(R"({"t":"a\ud800b"})") == R"({"t":"a\ufffdb"}|1)");
    CHECK(repaired(R"({"t":"a\udc00b"})") == R"({"t":"a\ufffdb"}|1)");
    CHECK(repaired(R"({"t":"\ud83d"})") == R"({"t":"\ufffd"}|1)");
    // A real pair (an emoji) and ordinary escapes are left alone.
    const std::string fine = R"({"t":"\ud83d\ude00 \n \" \\ud800 \u00e9"})";
    CHECK(repaired(fine) == fine + "|0");
    // An unknown escape, a \u without four hex digits, a raw control character.
    CHECK(repaired(R"({"t":"\x41"})") == R"({"t":"\ufffd41"}|1)");
    CHECK(repaired(R"({"t":"\u12"})") == R"({"t":"\ufffd12"}|1)");
    CHECK(repaired("{\"t\":\"a\x01"
                   "b\"}") == R"({"t":"a\u0001b"}|1)");
    // Outside strings nothing changes: structure errors stay errors.
    CHECK(repaired(R"({"t": \ud800})") == R"({"t": \ud800}|0)");

    std::size_t n = 0;
    const auto j = parse_json_repairing(R"({"t":"before \ud800 after"})", n);
    REQUIRE(j.is_object());
    CHECK(n == 1);
    CHECK(j["t"] == "before \xEF\xBF\xBD after");
    CHECK(parse_json_repairing(R"({"t":"fine"})", n)["t"] == "fine");
    CHECK(n == 0);
    CHECK(parse_json_repairing(R"({"t":)", n).is_discarded());
}

TEST_CASE("json repair: a field found without parsing, and errors without the input") {
    CHECK(find_string_field(R"({"envelope_id" : "e-1","payload":{)", "envelope_id") == "e-1");
    CHECK_FALSE(find_string_field(R"({"envelope_id":7})", "envelope_id"));
    CHECK_FALSE(find_string_field(R"({"type":"x"})", "envelope_id"));
    const std::string error = describe_json_error(R"({"text":"secret-ish \ud800"})");
    CHECK(error.find("surrogate") != std::string::npos);
    CHECK(error.find("secret-ish") == std::string::npos);
}
