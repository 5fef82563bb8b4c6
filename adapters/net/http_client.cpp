#include "adapters/net/http_client.hpp"

#include "adapters/net/detail/tls.hpp"
#include "adapters/net/url.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <type_traits>

namespace incident::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Exchange {
    const Url& url;
    const HttpClientOptions& options;
    std::chrono::steady_clock::time_point deadline;

    std::string where() const { return url.host + ":" + std::to_string(url.port); }

    HttpResponse fail(const error_code& ec, const std::string& step) const {
        std::string message = step + " " + where() + ": ";
        if (ec == beast::error::timeout) {
            message += "timed out after " + std::to_string(options.timeout.count()) + " ms";
        } else if (ec == http::error::body_limit) {
            message += "response body larger than " + std::to_string(options.body_limit) + " bytes";
        } else {
            message += ec.message();
        }
        return HttpResponse::failure(ec, std::move(message));
    }
};

template <class Stream>
awaitable<HttpResponse> exchange(Stream& stream, const Exchange& ex,
                                 const asio::ip::tcp::resolver::results_type& endpoints,
                                 http::request<http::string_body>& message) {
    auto& tcp = beast::get_lowest_layer(stream);
    error_code ec;
    tcp.expires_at(ex.deadline);
    co_await tcp.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return ex.fail(ec, "connect to");
    tcp.socket().set_option(asio::ip::tcp::no_delay(true), ec);

    if constexpr (std::is_same_v<Stream, TlsStream>) {
        if (auto prepared = detail::prepare_client_tls(stream.native_handle(), ex.url.host);
            !prepared.ok()) {
            co_return HttpResponse::failure(prepared.code, prepared.message);
        }
        co_await stream.async_handshake(asio::ssl::stream_base::client,
                                        asio::redirect_error(use_awaitable, ec));
        if (ec) {
            co_return HttpResponse::failure(
                ec, "TLS handshake with " + ex.where() + ": " +
                        detail::describe_tls_error(stream.native_handle(), ec));
        }
    }

    co_await http::async_write(stream, message, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return ex.fail(ec, "sending request to");

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(ex.options.body_limit);
    if (message.method() == http::verb::head) parser.skip(true);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return ex.fail(ec, "reading response from");

    auto& res = parser.get();
    HttpResponse response;
    response.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
        response.headers.add(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(res.body());
    // No TLS close_notify exchange: the body is complete and the connection is not
    // reused, so waiting for the peer's shutdown would only add latency.
    tcp.close();
    co_return response;
}

}  // namespace

HttpClient::HttpClient(asio::any_io_executor executor, TlsContext tls, HttpClientOptions options)
    : executor_(std::move(executor)), tls_(std::move(tls)), options_(std::move(options)) {}

awaitable<HttpResponse> HttpClient::request(HttpRequest request) {
    // Copies: the client object may be destroyed while this coroutine is suspended.
    const auto executor = executor_;
    const auto tls = tls_;
    const auto options = options_;

    std::string error;
    const auto url = Url::parse(request.url, &error);
    if (!url || url->websocket()) {
        if (url) error = "not an http:// or https:// URL: " + request.url;
        co_return HttpResponse::failure(make_error_code(boost::system::errc::invalid_argument),
                                        error);
    }

    http::request<http::string_body> message;
    const http::verb verb = http::string_to_verb(request.method);
    if (verb == http::verb::unknown) {
        message.method_string(request.method);
    } else {
        message.method(verb);
    }
    message.target(url->target);
    message.version(11);
    message.set(http::field::host, url->host_header());
    message.set(http::field::user_agent, options.user_agent);
    for (const auto& [name, value] : request.headers) {
        if (iequals(name, "Host") || iequals(name, "User-Agent")) message.erase(name);
    }
    for (const auto& [name, value] : request.headers) message.insert(name, value);
    message.body() = std::move(request.body);
    if (!message.body().empty() || verb == http::verb::post || verb == http::verb::put ||
        verb == http::verb::patch) {
        message.prepare_payload();
    }

    const Exchange ex{*url, options, std::chrono::steady_clock::now() + options.timeout};
    asio::ip::tcp::resolver resolver(executor);
    error_code ec;
    const auto endpoints = co_await resolver.async_resolve(url->host, std::to_string(url->port),
                                                           asio::redirect_error(use_awaitable, ec));
    if (ec) {
        co_return HttpResponse::failure(ec, "resolve " + url->host + ": " + ec.message());
    }

    if (url->tls()) {
        TlsStream stream(executor, tls.native());
        co_return co_await exchange(stream, ex, endpoints, message);
    }
    beast::tcp_stream stream(executor);
    co_return co_await exchange(stream, ex, endpoints, message);
}

}  // namespace incident::net
