#include "adapters/web/query.hpp"

#include "adapters/net/form.hpp"
#include "bot/text.hpp"

namespace incident::web {

namespace {

constexpr std::size_t k_max_target = 8192;

}  // namespace

Target split_target(std::string_view target) {
    if (target.size() > k_max_target) throw BadRequest("The address is too long.");
    if (target.empty() || target.front() != '/') {
        throw BadRequest("The request target must be a path starting with '/'.");
    }
    for (const char c : target) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            throw BadRequest("The address contains spaces or control characters.");
        }
    }
    const auto question = target.find('?');
    Target out;
    out.path = percent_decode(target.substr(0, question), false);
    if (question != std::string_view::npos) out.query = std::string(target.substr(question + 1));
    return out;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
    const std::optional<std::string> decoded = net::percent_decode(text, plus_is_space);
    if (!decoded) {
        throw BadRequest(
            "Bad percent-encoding in the address: '%' must be followed by two hexadecimal "
            "digits.");
    }
    const std::string& out = *decoded;
    if (out.find('\0') != std::string::npos) throw BadRequest("The address contains a NUL byte.");
    if (!is_valid_utf8(out)) throw BadRequest("The address is not valid UTF-8 once decoded.");
    return out;
}

std::string percent_encode(std::string_view text) {
    return net::percent_encode(text, true);
}

std::map<std::string, std::string> parse_query(std::string_view query) {
    std::map<std::string, std::string> params;
    std::size_t start = 0;
    while (start <= query.size()) {
        auto end = query.find('&', start);
        if (end == std::string_view::npos) end = query.size();
        const std::string_view pair = query.substr(start, end - start);
        start = end + 1;
        if (pair.empty()) continue;  // "a=1&&b=2" and a trailing '&' are harmless
        const auto eq = pair.find('=');
        std::string name = percent_decode(pair.substr(0, eq), true);
        std::string value =
            eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true);
        if (name.empty()) throw BadRequest("The query string has a value without a name.");
        if (params.contains(name)) {
            throw BadRequest("The query parameter '" + name + "' is given more than once.");
        }
        params.emplace(std::move(name), std::move(value));
    }
    return params;
}

}  // namespace incident::web
