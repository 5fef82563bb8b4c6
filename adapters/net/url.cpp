#include "adapters/net/url.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>

namespace incident::net {

std::string_view to_string(Scheme scheme) {
    switch (scheme) {
        case Scheme::http:
            return "http";
        case Scheme::https:
            return "https";
        case Scheme::ws:
            return "ws";
        case Scheme::wss:
            return "wss";
    }
    return "http";
}

std::uint16_t default_port(Scheme scheme) {
    return scheme == Scheme::https || scheme == Scheme::wss ? 443 : 80;
}

bool Url::host_is_ip() const {
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    return !ec;
}

std::string Url::host_header() const {
    std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port != default_port(scheme)) out += ":" + std::to_string(port);
    return out;
}

std::string Url::to_string() const {
    return std::string(net::to_string(scheme)) + "://" + host_header() + target;
}

namespace {

std::optional<Url> fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return std::nullopt;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

}  // namespace

std::optional<Url> Url::parse(std::string_view text, std::string* error) {
    const auto parsed = boost::urls::parse_uri(boost::urls::string_view(text.data(), text.size()));
    if (!parsed) {
        return fail(error, "not a valid URL: '" + std::string(text) + "' (" +
                               parsed.error().message() + ")");
    }
    const boost::urls::url_view& view = *parsed;

    Url url;
    const std::string scheme = lower(std::string_view(view.scheme()));
    if (scheme == "http") {
        url.scheme = Scheme::http;
    } else if (scheme == "https") {
        url.scheme = Scheme::https;
    } else if (scheme == "ws") {
        url.scheme = Scheme::ws;
    } else if (scheme == "wss") {
        url.scheme = Scheme::wss;
    } else {
        return fail(error, "unsupported URL scheme '" + scheme + "' in '" + std::string(text) +
                               "' (expected http, https, ws or wss)");
    }

    switch (view.host_type()) {
        case boost::urls::host_type::ipv4:
        case boost::urls::host_type::ipv6:
            url.host = view.host_address();
            break;
        case boost::urls::host_type::name:
            url.host = lower(view.host());
            break;
        default:
            break;
    }
    if (url.host.empty()) return fail(error, "URL has no host: '" + std::string(text) + "'");

    url.port = default_port(url.scheme);
    if (view.has_port()) {
        const std::string_view digits(view.port().data(), view.port().size());
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
            value == 0 || value > 65535) {
            return fail(
                error, "invalid port '" + std::string(digits) + "' in '" + std::string(text) + "'");
        }
        url.port = static_cast<std::uint16_t>(value);
    }

    url.target = std::string(view.encoded_path());
    if (url.target.empty()) url.target = "/";
    if (view.has_query()) url.target += "?" + std::string(view.encoded_query());
    return url;
}

}  // namespace incident::net
