#include "adapters/web/query.hpp"

#include "bot/text.hpp"

namespace incident::web {

namespace {

constexpr std::size_t k_max_target = 8192;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

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
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
            const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                throw BadRequest(
                    "Bad percent-encoding in the address: '%' must be followed by "
                    "two hexadecimal digits.");
            }
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    if (out.find('\0') != std::string::npos) throw BadRequest("The address contains a NUL byte.");
    if (!is_valid_utf8(out)) throw BadRequest("The address is not valid UTF-8 once decoded.");
    return out;
}

std::string percent_encode(std::string_view text) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                                c == '~' || c == '/';
        if (unreserved) {
            out += c;
        } else {
            out += '%';
            out += k_hex[u >> 4];
            out += k_hex[u & 15];
        }
    }
    return out;
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
