#include "adapters/net/json_repair.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <doctest/doctest.h>

#include "adapters/net/json_parse.hpp"
#include "tests/net/same_json.hpp"

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

namespace {

bool parses_as_nlohmann(std::string_view text) {
    return incident::test::same_json(incident::net::parse_json(text),
                                     nlohmann::json::parse(text, nullptr, false));
}

}  // namespace

TEST_CASE("json parse: the fast reader gives exactly what nlohmann gives, refusals included") {
    CHECK(parses_as_nlohmann(
        R"({"b":[1,-2,2.5,1e2,true,false,null],"a":{"x":"\u00e9\ud83d\ude00"}})"));
    // Integers at the edges of both types, and one beyond them (a double for nlohmann).
    CHECK(
        parses_as_nlohmann("[0,-1,18446744073709551615,9223372036854775807,-9223372036854775808]"));
    // The one difference: -0 is an unsigned 0 (nlohmann: a signed one), an equal value.
    CHECK(incident::net::parse_json("-0") == nlohmann::json::parse("-0"));
    CHECK(parses_as_nlohmann("[18446744073709551616, 1e400]"));
    // A repeated key keeps its last value; strings may hold NUL; a byte-order mark is read.
    CHECK(parses_as_nlohmann(R"({"k":1,"k":2})"));
    CHECK(incident::net::parse_json(R"({"k":1,"k":2})")["k"] == 2);
    CHECK(parses_as_nlohmann(R"(["a\u0000b"])"));
    CHECK(parses_as_nlohmann("\xEF\xBB\xBF{\"t\":1}"));
    CHECK(parses_as_nlohmann(R"(  "just a string"  )"));
    // Refused by both: lone surrogates, raw control characters, invalid UTF-8, bad structure.
    for (const std::string& bad :
         {std::string(R"({"t":"\ud800"})"), std::string("{\"t\":\"a\x01\"}"),
          std::string("{\"t\":\"\xED\xA0\x80\"}"), std::string("{\"t\":\"\xC3\"}"),
          std::string(R"({"t":1,})"), std::string("[1] [2]"), std::string(""),
          std::string("{\"t\":")}) {
        CAPTURE(bad);
        CHECK(incident::net::parse_json(bad).is_discarded());
        CHECK(parses_as_nlohmann(bad));
    }
    // Deeper than simdjson reads, and large enough for a parser of its own.
    const std::string deep = std::string(5000, '[') + std::string(5000, ']');
    CHECK(parses_as_nlohmann(deep));
    const std::string large = "{\"t\":\"" + std::string(200'000, 'x') + "\"}";
    CHECK(parses_as_nlohmann(large));
    CHECK(incident::net::parse_json(large)["t"].get_ref<const std::string&>().size() == 200'000);
}

TEST_CASE("json parse: every documented payload of tests/protocol reads as nlohmann reads it") {
    int documents = 0;
    for (const auto& file :
         std::filesystem::recursive_directory_iterator(INCIDENT_BOT_PROTOCOL_DIR)) {
        if (file.path().extension() != ".json") continue;
        std::ifstream in(file.path(), std::ios::binary);
        const std::string text((std::istreambuf_iterator<char>(in)), {});
        CAPTURE(file.path().string());
        CHECK(parses_as_nlohmann(text));
        ++documents;
    }
    CHECK(documents > 50);
}
