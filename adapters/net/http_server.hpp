#pragma once

#include "adapters/net/http_types.hpp"
#include "adapters/net/status.hpp"
#include "adapters/net/tls_context.hpp"
#include "adapters/net/websocket_session.hpp"
#include "adapters/net/websocket_types.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace incident::net {

using HttpHandler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;
// Runs for as long as the WebSocket is to stay open; the session is closed after it.
using WebSocketHandler = std::function<boost::asio::awaitable<void>(WebSocketSession)>;
// Before an upgrade is accepted: a response refuses it (e.g. 401), nullopt accepts.
using WebSocketCheck = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

// What a handler returns to have the connection closed without any answer, as a server that
// took the request and then crashed or lost its network does (fakes play a lost answer).
inline constexpr std::string_view k_no_answer = "closed without an answer";
inline HttpResponse no_answer() {
    HttpResponse response;
    response.error = std::string(k_no_answer);
    return response;
}

struct HttpServerOptions {
    // A larger request body gets 413 and the connection is closed.
    std::size_t body_limit = 1024 * 1024;
    // A larger request head gets 431.
    std::size_t header_limit = 16 * 1024;
    // Time to receive a request head, counted from when the server starts waiting for
    // it: this also ends idle keep-alive connections.
    std::chrono::milliseconds header_timeout{15'000};
    // Time to receive the body, and to write the response.
    std::chrono::milliseconds body_timeout{30'000};
    std::size_t max_connections = 512;
    // Serve HTTPS with this server context (tests); plain HTTP when unset.
    std::optional<TlsContext> tls;
    std::string server_name = "incident-bot";
    // For upgraded connections; ping_interval is ignored: server sessions have no
    // background reader to see pongs (see WebSocketSession).
    WebSocketOptions websocket;
};

// HTTP/1.1 server: one coroutine per connection, keep-alive, limits and timeouts, every
// request handed to one handler (which may return no_answer()); paths registered with
// add_websocket_route accept WebSocket upgrades on the same port. A handler that throws gets its
// client a 500 and the exception logged; the server keeps serving. Use it from the io_context's
// thread.
class HttpServer {
public:
    HttpServer(boost::asio::any_io_executor executor, HttpHandler handler,
               HttpServerOptions options = {});
    // Stops.
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Upgrade requests for exactly this path (query ignored) become WebSocket sessions;
    // other requests to it still go to the HTTP handler.
    void add_websocket_route(std::string path, WebSocketHandler handler, WebSocketCheck check = {});

    // Binds "host:port" ("127.0.0.1:0" for an ephemeral port, "[::1]:8080",
    // "0.0.0.0:8080", "localhost:8080") and starts accepting.
    NetStatus listen(std::string_view host_port);
    // The bound port, after listen().
    std::uint16_t port() const;
    // Closes the listener and every open connection, WebSockets included.
    void stop();
    std::size_t connection_count() const;

    struct State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace incident::net
