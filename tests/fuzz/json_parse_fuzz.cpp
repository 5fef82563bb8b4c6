#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/net/json_parse.hpp"
#include "fuzz_check.hpp"
#include "tests/net/same_json.hpp"

using incident::fuzz::require;
using incident::test::same_json;

// The hot path's reader (simdjson, then nlohmann on refusal) against nlohmann alone: the same
// document or the same refusal for any bytes.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    require(same_json(incident::net::parse_json(text), nlohmann::json::parse(text, nullptr, false)),
            "parse_json(x) is nlohmann's json::parse(x)");
    return 0;
}
