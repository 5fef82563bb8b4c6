#include "adapters/net/http_server.hpp"

#include "adapters/net/detail/http_server_state.hpp"
#include "adapters/net/detail/spawn.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>

namespace incident::net {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using boost::system::error_code;

namespace detail {

std::string endpoint_string(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    const std::string host =
        address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(endpoint.port());
}

}  // namespace detail

namespace {

using State = HttpServer::State;
using detail::endpoint_string;

awaitable<void> accept_loop(std::shared_ptr<State> state) {
    while (!state->stopped) {
        error_code ec;
        tcp::socket socket =
            co_await state->acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
        if (state->stopped || ec == asio::error::operation_aborted) break;
        if (ec) {
            spdlog::warn("http server: accept failed: {}", ec.message());
            // E.g. out of file descriptors: pause rather than spin.
            asio::steady_timer pause(state->executor, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
            continue;
        }
        if (state->closers.size() >= state->options.max_connections) {
            spdlog::warn("http server: {} connections open, refusing another",
                         state->closers.size());
            socket.close(ec);
            continue;
        }
        // Small responses and WebSocket frames must not wait for Nagle's algorithm.
        socket.set_option(tcp::no_delay(true), ec);
        const auto peer = socket.remote_endpoint(ec);
        std::string remote = ec ? std::string("unknown peer") : endpoint_string(peer);
        if (state->options.tls) {
            asio::co_spawn(state->executor,
                           detail::run_tls_connection(state, std::move(socket), std::move(remote)),
                           detail::LogExceptions{"https connection"});
        } else {
            asio::co_spawn(
                state->executor,
                detail::run_plain_connection(state, std::move(socket), std::move(remote)),
                detail::LogExceptions{"http connection"});
        }
    }
}

NetStatus listen_error(const std::string& message) {
    return NetStatus::failure(make_error_code(boost::system::errc::invalid_argument), message);
}

}  // namespace

HttpServer::HttpServer(asio::any_io_executor executor, HttpHandler handler,
                       HttpServerOptions options)
    : state_(std::make_shared<State>(executor, std::move(handler), std::move(options))) {}

HttpServer::~HttpServer() {
    stop();
}

void HttpServer::add_websocket_route(std::string path, WebSocketHandler handler,
                                     WebSocketCheck check) {
    state_->routes[std::move(path)] = State::Route{std::move(handler), std::move(check)};
}

NetStatus HttpServer::listen(std::string_view host_port) {
    auto& state = *state_;
    if (state.listening || state.stopped) {
        return listen_error("the server is already listening or was stopped");
    }
    const std::string text(host_port);
    std::string host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return listen_error("listen address must be host:port, got '" + text + "'");
        }
        host = text.substr(1, close - 1);
        port_text = std::string_view(text).substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) {
            return listen_error("listen address must be host:port, got '" + text + "'");
        }
        host = text.substr(0, colon);
        port_text = std::string_view(text).substr(colon + 1);
    }
    unsigned port = 0;
    const auto [end, parse_error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || parse_error != std::errc{} ||
        end != port_text.data() + port_text.size() || port > 65535) {
        return listen_error("invalid port in listen address '" + text + "'");
    }
    if (host.empty()) host = "0.0.0.0";

    error_code ec;
    tcp::resolver resolver(state.executor);
    const auto results = resolver.resolve(
        host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
        return NetStatus::failure(ec, "cannot resolve listen address '" + text +
                                          "': " + (ec ? ec.message() : "no address"));
    }
    const tcp::endpoint endpoint = results.begin()->endpoint();
    const auto fail = [&](const char* step) {
        error_code ignored;
        state.acceptor.close(ignored);
        return NetStatus::failure(
            ec, std::string("cannot listen on ") + text + ": " + step + ": " + ec.message());
    };
    state.acceptor.open(endpoint.protocol(), ec);
    if (ec) return fail("open");
    state.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) return fail("SO_REUSEADDR");
    state.acceptor.bind(endpoint, ec);
    if (ec) return fail("bind");
    state.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen");
    state.port = state.acceptor.local_endpoint(ec).port();
    state.listening = true;
    spdlog::info("http server: listening on {}{}",
                 endpoint_string(tcp::endpoint(endpoint.address(), state.port)),
                 state.options.tls ? " (TLS)" : "");
    asio::co_spawn(state.executor, accept_loop(state_), detail::LogExceptions{"http accept loop"});
    return NetStatus::success();
}

std::uint16_t HttpServer::port() const {
    return state_->port;
}

void HttpServer::stop() {
    auto& state = *state_;
    if (state.stopped) return;
    state.stopped = true;
    error_code ignored;
    state.acceptor.close(ignored);
    auto closers = std::move(state.closers);
    state.closers.clear();
    for (auto& [id, close] : closers) close();
}

std::size_t HttpServer::connection_count() const {
    return state_->closers.size();
}

}  // namespace incident::net
