#pragma once

#include "adapters/net/detail/http_server_state.hpp"
#include "adapters/net/detail/ws_accept.hpp"
#include "adapters/net/detail/ws_core.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <array>
#include <type_traits>

// The per-connection HTTP loop, for both stream types.
namespace incident::net::detail::http_impl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using boost::system::error_code;
using State = HttpServer::State;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Request = http::request<http::string_body>;

// The peer went away or the server stopped: nothing to answer.
inline bool is_disconnect(const error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
           ec == asio::error::operation_aborted || ec == asio::error::broken_pipe ||
           ec == beast::error::timeout;
}

inline HttpRequest to_request(Request& message, const std::string& remote) {
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.url = std::string(message.target());
    for (const auto& field : message) {
        request.headers.add(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.remote_address = remote;
    return request;
}

template <class Stream>
awaitable<error_code> write_response(Stream& stream, HttpResponse response, unsigned version,
                                     bool keep_alive, const std::string& server_name) {
    http::response<http::string_body> res;
    res.version(version);
    res.result(static_cast<unsigned>(response.status));
    if (!response.headers.contains("Server")) res.set(http::field::server, server_name);
    for (const auto& [name, value] : response.headers) res.insert(name, value);
    res.body() = std::move(response.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    error_code ec;
    co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
    co_return ec;
}

// Answers an unacceptable request and ends the connection.
template <class Stream>
awaitable<void> reject(Stream& stream, const State& state, int status, const std::string& message,
                       const std::string& remote) {
    spdlog::info("http server: {} to {}: {}", status, remote, message);
    auto& tcp = beast::get_lowest_layer(stream);
    tcp.expires_after(std::chrono::seconds(2));
    const error_code ec = co_await write_response(
        stream, HttpResponse::text(status, message + "\n"), 11, false, state.options.server_name);
    if (ec) co_return;
    // Read and drop what the client is still sending: closing with unread data would
    // reset the connection, and the client could lose the response before reading it.
    error_code ignored;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    std::array<char, 16 * 1024> scratch{};
    std::size_t drained = 0;
    tcp.expires_after(std::chrono::seconds(1));
    while (drained < 4 * state.options.body_limit + 65536) {
        drained += co_await stream.async_read_some(asio::buffer(scratch),
                                                   asio::redirect_error(use_awaitable, ignored));
        if (ignored) break;
    }
}

template <class Stream>
awaitable<void> upgrade(std::shared_ptr<State> state, Stream& stream, Registration& registration,
                        Request& message, HttpRequest request, const State::Route& route) {
    const auto& options = state->options;
    const std::string remote = request.remote_address;
    const std::string path(request.path());
    if (route.check) {
        if (auto refusal = route.check(request)) {
            spdlog::info("http server: WebSocket upgrade of {} from {} refused with {}", path,
                         remote, refusal->status);
            co_await write_response(stream, std::move(*refusal), message.version(), false,
                                    options.server_name);
            co_return;
        }
    }
    // The stream moves into the WebSocket: its old closer must not touch it any more.
    registration.replace([] {});
    std::shared_ptr<detail::WsCore> core;
    const NetStatus accepted = co_await detail::accept_websocket(
        std::move(stream), message, options.websocket, options.server_name, core);
    if (!accepted.ok()) {
        spdlog::info("http server: {} from {}: {}", path, remote, accepted.message);
        co_return;
    }
    registration.replace([weak = std::weak_ptr<detail::WsCore>(core)] {
        if (auto core = weak.lock()) core->abort("server stopped");
    });
    WebSocketSession session(core, std::move(request));
    bool threw = false;
    try {
        co_await route.handler(session);
    } catch (const std::exception& e) {
        spdlog::error("http server: WebSocket handler for {} threw: {}", path, e.what());
        threw = true;
    }
    if (threw) {
        session.abort();
    } else if (session.is_open()) {
        co_await session.close();
    }
}

template <class Stream>
awaitable<void> serve(std::shared_ptr<State> state, Stream& stream, Registration& registration,
                      const std::string& remote) {
    const auto& options = state->options;
    auto& tcp = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;
    error_code ec;
    while (!state->stopped) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
        parser.body_limit(options.body_limit);

        tcp.expires_after(options.header_timeout);
        co_await http::async_read_header(stream, buffer, parser,
                                         asio::redirect_error(use_awaitable, ec));
        if (ec == http::error::body_limit) {
            co_await reject(stream, *state, 413,
                            "request body too large: the limit is " +
                                std::to_string(options.body_limit) + " bytes",
                            remote);
            co_return;
        }
        if (ec == http::error::header_limit) {
            co_await reject(stream, *state, 431,
                            "request header too large: the limit is " +
                                std::to_string(options.header_limit) + " bytes",
                            remote);
            co_return;
        }
        if (ec) {
            if (!is_disconnect(ec)) {
                co_await reject(stream, *state, 400, "bad request: " + ec.message(), remote);
            }
            co_return;
        }

        if (const auto expect = parser.get()[http::field::expect];
            iequals(std::string_view(expect.data(), expect.size()), "100-continue")) {
            http::response<http::empty_body> proceed{http::status::continue_, 11};
            co_await http::async_write(stream, proceed, asio::redirect_error(use_awaitable, ec));
            if (ec) co_return;
        }

        tcp.expires_after(options.body_timeout);
        co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
        if (ec == http::error::body_limit) {
            co_await reject(stream, *state, 413,
                            "request body too large: the limit is " +
                                std::to_string(options.body_limit) + " bytes",
                            remote);
            co_return;
        }
        if (ec) {
            if (!is_disconnect(ec)) {
                co_await reject(stream, *state, 400, "bad request: " + ec.message(), remote);
            }
            co_return;
        }
        tcp.expires_never();

        Request message = parser.release();
        HttpRequest request = to_request(message, remote);

        if (beast::websocket::is_upgrade(message)) {
            const auto route = state->routes.find(request.path());
            if (route != state->routes.end()) {
                const State::Route copy = route->second;
                co_await upgrade(state, stream, registration, message, std::move(request), copy);
                co_return;
            }
        }

        const std::string method = request.method;
        const std::string target = request.url;
        HttpResponse response;
        try {
            response = co_await state->handler(std::move(request));
        } catch (const std::exception& e) {
            spdlog::error("http server: handler for {} {} threw: {}", method, target, e.what());
            response = HttpResponse::text(500, "internal server error\n");
        } catch (...) {
            spdlog::error("http server: handler for {} {} threw a non-standard exception", method,
                          target);
            response = HttpResponse::text(500, "internal server error\n");
        }
        if (response.status == 0 && response.error == k_no_answer) break;
        if (response.status < 100 || response.status > 999) {
            spdlog::error("http server: handler for {} {} returned invalid status {}", method,
                          target, response.status);
            response = HttpResponse::text(500, "internal server error\n");
        }

        const bool keep_alive = message.keep_alive() && !state->stopped;
        tcp.expires_after(options.body_timeout);
        ec = co_await write_response(stream, std::move(response), message.version(), keep_alive,
                                     options.server_name);
        if (ec || !keep_alive) break;
    }

    error_code ignored;
    if constexpr (std::is_same_v<Stream, TlsStream>) {
        tcp.expires_after(std::chrono::seconds(2));
        co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ignored));
    } else {
        tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
}

}  // namespace incident::net::detail::http_impl
