#include "adapters/notify/redact.hpp"

#include "bot/text.hpp"

namespace incident::notify {

std::string server_words(std::string_view text, std::initializer_list<std::string_view> secrets,
                         std::size_t max_bytes) {
    std::string out(text);
    for (const std::string_view secret : secrets) {
        if (secret.empty()) continue;
        for (auto at = out.find(secret); at != std::string::npos; at = out.find(secret, at)) {
            out.replace(at, secret.size(), "[redacted]");
            at += 10;
        }
    }
    // Control characters (line ends of a multi-line reply) become single spaces.
    std::string line;
    line.reserve(out.size());
    for (const char c : out) {
        const bool control = static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        if (!control) {
            line += c;
        } else if (!line.empty() && line.back() != ' ') {
            line += ' ';
        }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return truncate_utf8(line, max_bytes);
}

}  // namespace incident::notify
