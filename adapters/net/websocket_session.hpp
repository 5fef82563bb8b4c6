#pragma once

#include "adapters/net/http_types.hpp"
#include "adapters/net/websocket_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace incident::net {

namespace detail {
class WsCore;
}

// The server end of an upgraded connection (HttpServer::add_websocket_route). A cheap
// handle: copies refer to the same connection, so a test can keep one to push frames
// from elsewhere. There is no background reader: the peer's pings are answered only
// while a read() is pending, and a server that stops calling read() stops answering
// pings, which is how tests simulate a hung server.
class WebSocketSession {
public:
    WebSocketSession(std::shared_ptr<detail::WsCore> core, HttpRequest request);

    // The upgrade request (path, query, headers such as Authorization).
    const HttpRequest& request() const { return *request_; }

    // The next message; nullopt when the connection ended. One reader at a time.
    boost::asio::awaitable<std::optional<std::string>> read();
    // Queued; written in order by one writer, never dropped. The queue is the owner's to
    // bound (a test server may queue a whole flood at once). False when not open.
    bool send(std::string text);
    boost::asio::awaitable<void> flush();
    boost::asio::awaitable<void> close(std::uint16_t code = 1000, std::string reason = {});
    // Fault injection: drops the TCP connection at once, without a close frame.
    void abort();

    bool is_open() const;
    WebSocketCloseStatus close_status() const;
    WebSocketQueueStats queue_stats() const;

private:
    std::shared_ptr<detail::WsCore> core_;
    std::shared_ptr<const HttpRequest> request_;
};

}  // namespace incident::net
