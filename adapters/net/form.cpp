#include "adapters/net/form.hpp"

namespace incident::net {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+' && plus_is_space) {
            out += ' ';
        } else if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            const int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<FormFields> parse_form(std::string_view body) {
    FormFields fields;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const std::string_view part = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (part.empty()) continue;
        const auto eq = part.find('=');
        auto name = percent_decode(part.substr(0, eq));
        auto value =
            percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
        if (!name || !value) return std::nullopt;
        fields.emplace_back(std::move(*name), std::move(*value));
    }
    return fields;
}

std::optional<std::string> form_value(const FormFields& fields, std::string_view name) {
    for (const auto& [k, v] : fields) {
        if (k == name) return v;
    }
    return std::nullopt;
}

std::string percent_encode(std::string_view text, bool keep_slash) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char raw : text) {
        const auto c = static_cast<unsigned char>(raw);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            out += raw;
        } else {
            out += '%';
            out += k_hex[c >> 4];
            out += k_hex[c & 0x0F];
        }
    }
    return out;
}

std::string encode_form(const FormFields& fields) {
    std::string out;
    for (const auto& [k, v] : fields) {
        if (!out.empty()) out += '&';
        out += percent_encode(k) + "=" + percent_encode(v);
    }
    return out;
}

}  // namespace incident::net
