#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/net/form.hpp"
#include "fuzz_check.hpp"

using incident::fuzz::require;
namespace net = incident::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    // Whatever the bytes, encoding then decoding gives them back.
    const auto round_trip = net::percent_decode(net::percent_encode(text));
    require(round_trip && *round_trip == text, "percent_decode(percent_encode(x)) == x");

    const auto decoded = net::percent_decode(text);
    const auto fields = net::parse_form(text);
    if (!fields) return 0;
    if (!fields->empty()) {
        const auto first = net::form_value(*fields, fields->front().first);
        require(first && *first == fields->front().second, "form_value finds the first field");
    }
    // A parsed form encodes to a body that parses to the same fields.
    const std::string body = net::encode_form(*fields);
    const auto again = net::parse_form(body);
    require(again && *again == *fields, "parse_form(encode_form(f)) == f");
    (void)decoded;
    return 0;
}
