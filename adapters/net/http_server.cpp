#include "adapters/net/http_server.hpp"

#include "adapters/net/detail/spawn.hpp"
#include "adapters/net/detail/ws_accept.hpp"
#include "adapters/net/detail/ws_core.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <map>
#include <type_traits>
#include <unordered_map>

namespace incident::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using boost::system::error_code;

struct HttpServer::State {
    State(asio::any_io_executor executor, HttpHandler handler, HttpServerOptions options)
        : executor(executor),
          handler(std::move(handler)),
          options(std::move(options)),
          acceptor(executor) {}

    struct Route {
        WebSocketHandler handler;
        WebSocketCheck check;
    };

    asio::any_io_executor executor;
    HttpHandler handler;
    HttpServerOptions options;
    std::map<std::string, Route, std::less<>> routes;
    tcp::acceptor acceptor;
    std::uint16_t port = 0;
    bool listening = false;
    bool stopped = false;
    std::uint64_t next_id = 0;
    // How to drop each open connection, for stop().
    std::unordered_map<std::uint64_t, std::function<void()>> closers;
};

namespace {

using State = HttpServer::State;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Request = http::request<http::string_body>;

// A connection's entry in State::closers, for as long as the connection lives.
class Registration {
public:
    Registration(std::shared_ptr<State> state, std::function<void()> closer)
        : state_(std::move(state)), id_(state_->next_id++) {
        state_->closers[id_] = std::move(closer);
    }
    ~Registration() { state_->closers.erase(id_); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

    void replace(std::function<void()> closer) { state_->closers[id_] = std::move(closer); }

private:
    std::shared_ptr<State> state_;
    std::uint64_t id_;
};

std::string endpoint_string(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    const std::string host =
        address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(endpoint.port());
}

// The peer went away or the server stopped: nothing to answer.
bool is_disconnect(const error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
           ec == asio::error::operation_aborted || ec == asio::error::broken_pipe ||
           ec == beast::error::timeout;
}

HttpRequest to_request(Request& message, const std::string& remote) {
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
    const error_code ec =
        co_await write_response(stream, HttpResponse::text(status, message + "\n"), 11, false,
                                state.options.server_name);
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
            spdlog::error("http server: handler for {} {} threw a non-standard exception",
                          method, target);
            response = HttpResponse::text(500, "internal server error\n");
        }
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

awaitable<void> run_connection(std::shared_ptr<State> state, tcp::socket socket) {
    error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    const std::string remote = ec ? std::string("unknown peer") : endpoint_string(peer);
    // The top of the connection: anything thrown below ends only this connection.
    try {
        beast::tcp_stream tcp(std::move(socket));
        if (state->options.tls) {
            TlsStream stream(std::move(tcp), state->options.tls->native());
            Registration registration(state,
                                      [&stream] { beast::get_lowest_layer(stream).close(); });
            beast::get_lowest_layer(stream).expires_after(state->options.header_timeout);
            co_await stream.async_handshake(asio::ssl::stream_base::server,
                                            asio::redirect_error(use_awaitable, ec));
            if (ec) {
                spdlog::info("http server: TLS handshake with {} failed: {}", remote,
                             ec.message());
                co_return;
            }
            co_await serve(state, stream, registration, remote);
        } else {
            Registration registration(state, [&tcp] { tcp.close(); });
            co_await serve(state, tcp, registration, remote);
        }
    } catch (const std::exception& e) {
        spdlog::error("http server: connection with {} failed: {}", remote, e.what());
    }
}

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
        asio::co_spawn(state->executor, run_connection(state, std::move(socket)),
                       detail::LogExceptions{"http connection"});
    }
}

NetStatus listen_error(const std::string& message) {
    return NetStatus::failure(make_error_code(boost::system::errc::invalid_argument), message);
}

}  // namespace

HttpServer::HttpServer(asio::any_io_executor executor, HttpHandler handler,
                       HttpServerOptions options)
    : state_(std::make_shared<State>(executor, std::move(handler), std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

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
    const auto results = resolver.resolve(host, std::to_string(port),
                                          tcp::resolver::passive | tcp::resolver::numeric_service,
                                          ec);
    if (ec || results.empty()) {
        return NetStatus::failure(ec, "cannot resolve listen address '" + text +
                                          "': " + (ec ? ec.message() : "no address"));
    }
    const tcp::endpoint endpoint = results.begin()->endpoint();
    const auto fail = [&](const char* step) {
        error_code ignored;
        state.acceptor.close(ignored);
        return NetStatus::failure(ec, std::string("cannot listen on ") + text + ": " + step +
                                          ": " + ec.message());
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
    spdlog::info("http server: listening on {}{}", endpoint_string(tcp::endpoint(
                                                      endpoint.address(), state.port)),
                 state.options.tls ? " (TLS)" : "");
    asio::co_spawn(state.executor, accept_loop(state_), detail::LogExceptions{"http accept loop"});
    return NetStatus::success();
}

std::uint16_t HttpServer::port() const { return state_->port; }

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

std::size_t HttpServer::connection_count() const { return state_->closers.size(); }

}  // namespace incident::net
