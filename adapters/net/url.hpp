#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace incident::net {

enum class Scheme { http, https, ws, wss };

std::string_view to_string(Scheme scheme);
std::uint16_t default_port(Scheme scheme);

// An absolute http, https, ws or wss URL, split the way a connection needs it.
struct Url {
    Scheme scheme = Scheme::http;
    // Lower-case name or IP literal; an IPv6 address has no brackets.
    std::string host;
    // The explicit port, or the scheme's default.
    std::uint16_t port = 80;
    // Path and query as they go on the request line; "/" when the URL has no path.
    std::string target = "/";

    bool tls() const { return scheme == Scheme::https || scheme == Scheme::wss; }
    bool websocket() const { return scheme == Scheme::ws || scheme == Scheme::wss; }
    bool host_is_ip() const;
    // The Host header value: the port only when it is not the default.
    std::string host_header() const;
    std::string to_string() const;

    // Nullopt for anything else than an absolute http(s)/ws(s) URL with a host;
    // `error` then says what is wrong.
    static std::optional<Url> parse(std::string_view text, std::string* error = nullptr);
};

}  // namespace incident::net
