#pragma once

#include "adapters/net/status.hpp"
#include "adapters/net/tls_context.hpp"
#include "adapters/net/websocket_types.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace incident::net {

namespace detail {
class WsCore;
}

// One WebSocket connection to a ws:// or wss:// URL (TLS verified like HttpClient).
// A background reader receives all the time, so pongs are seen however slowly the
// owner calls read(); it pings when the server has been silent for ping_interval and
// drops the connection (status "dead") when nothing at all came for dead_after. Single use: after
// it ends, make a new client to reconnect. Use it from the io_context's thread only.
class WebSocketClient {
public:
    WebSocketClient(boost::asio::any_io_executor executor, TlsContext tls,
                    WebSocketOptions options = {});
    // Drops the connection if still open.
    ~WebSocketClient();
    WebSocketClient(const WebSocketClient&) = delete;
    WebSocketClient& operator=(const WebSocketClient&) = delete;

    // Resolve, TCP, TLS for wss, upgrade. The message names what failed, including an
    // HTTP status when the server refused the upgrade.
    boost::asio::awaitable<NetStatus> connect(std::string url);

    // The next text message; nullopt once the connection has ended and every received
    // message was read (close_status() then says why).
    boost::asio::awaitable<std::optional<std::string>> read();
    // The next message and whatever arrives right behind it, up to `max` messages, so the
    // owner can store a burst in one transaction. Empty once the connection has ended.
    boost::asio::awaitable<std::vector<std::string>> read_burst(std::size_t max);
    // Queues a text message; one writer sends queued messages in order, so messages
    // from concurrent coroutines never interleave. Never dropped: while
    // max_queued_messages wait, the connection reads nothing new from the peer instead.
    // False only when the connection is not open (or closing).
    bool send(std::string text);
    // Until every queued message was written (or the connection ended).
    boost::asio::awaitable<void> flush();
    // Sends what is queued, then a close frame, and waits for the peer's close frame
    // (bounded by connect_timeout).
    boost::asio::awaitable<void> close(std::uint16_t code = 1000, std::string reason = {});
    // Drops the TCP connection without a close frame.
    void abort();

    bool is_open() const;
    WebSocketCloseStatus close_status() const;
    WebSocketQueueStats queue_stats() const;
    // How long nothing was heard from the server (the liveness check's measure).
    std::chrono::milliseconds silent_for() const;

private:
    boost::asio::any_io_executor executor_;
    TlsContext tls_;
    WebSocketOptions options_;
    std::shared_ptr<detail::WsCore> core_;
    bool connect_called_ = false;
};

}  // namespace incident::net
