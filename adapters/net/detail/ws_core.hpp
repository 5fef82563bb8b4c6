#pragma once

#include "adapters/net/status.hpp"
#include "adapters/net/tls_context.hpp"
#include "adapters/net/url.hpp"
#include "adapters/net/websocket_types.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace incident::net::detail {

// Wakes every coroutine waiting on it; waiters re-check their condition in a loop,
// so a notify with nobody waiting is harmless.
class Signal {
public:
    explicit Signal(const boost::asio::any_io_executor& executor);
    void notify() { timer_.cancel(); }
    boost::asio::awaitable<void> wait();

private:
    boost::asio::steady_timer timer_;
};

// What client and server WebSockets share: the write queue drained by one writer
// coroutine, the optional background reader, ping/pong liveness and close bookkeeping.
// Subclasses move the frames (a Beast stream over TCP or TLS). Not thread-safe: use it
// from one thread (or one strand), as the whole network layer.
class WsCore : public std::enable_shared_from_this<WsCore> {
public:
    // A background reader reads all the time (so pongs are seen even when the owner is
    // busy) and queues messages for read(); without one, read() reads the socket itself.
    WsCore(boost::asio::any_io_executor executor, WebSocketOptions options, bool background_reader);
    virtual ~WsCore() = default;

    void start();
    // A message the background reader already received, without waiting.
    std::optional<std::string> try_read();
    // Bytes of a next frame are already waiting in the kernel or the TLS layer. They also
    // prove the peer alive when the loop was busy elsewhere (a slow call of the owner).
    virtual bool input_pending() = 0;
    boost::asio::awaitable<std::optional<std::string>> read();
    // Queues `text` while open; never drops it. Back-pressure comes from the reader, which
    // reads no new frame while the queue is at max_queued_messages.
    bool send(std::string text);
    boost::asio::awaitable<void> flush();
    boost::asio::awaitable<void> close(std::uint16_t code, std::string reason);
    void abort(std::string why);

    bool is_open() const { return status_.kind == WebSocketCloseStatus::Kind::open; }
    const WebSocketCloseStatus& status() const { return status_; }
    WebSocketQueueStats queue_stats() const;
    // How long nothing was heard from the peer (0 while the reader waits on the owner).
    std::chrono::milliseconds silent_for();
    const boost::asio::any_io_executor& executor() const { return executor_; }

protected:
    virtual boost::asio::awaitable<boost::system::error_code> read_frame(std::string& out) = 0;
    virtual boost::asio::awaitable<boost::system::error_code> write_frame(
        const std::string& text) = 0;
    virtual boost::asio::awaitable<boost::system::error_code> send_ping() = 0;
    virtual boost::asio::awaitable<boost::system::error_code> send_close(
        std::uint16_t code, const std::string& reason) = 0;
    virtual void close_transport() = 0;
    // Holds written frames in the kernel (TCP_CORK) until released, so a batch of small
    // frames leaves as a few full segments instead of one segment per frame.
    virtual void hold_segments(bool hold) = 0;
    // The close frame the peer sent: code and reason.
    virtual std::pair<std::uint16_t, std::string> peer_close() const = 0;
    // True for the error a read reports after a completed closing handshake.
    virtual bool is_closed_error(const boost::system::error_code& ec) const = 0;

    // A control frame (ping or pong) came from the peer: it is alive.
    void on_control_frame() { heard(); }
    const WebSocketOptions& options() const { return options_; }

private:
    // Runs one of the loops below; if it ever throws, the exception is logged and the
    // connection is ended, so it cannot linger half-alive.
    void spawn_loop(boost::asio::awaitable<void> (WsCore::*loop)(), const char* what);
    boost::asio::awaitable<void> read_loop();
    boost::asio::awaitable<void> write_loop();
    boost::asio::awaitable<void> liveness_loop();
    boost::asio::awaitable<void> ping_once();
    // Waits (background reader) until the owner has taken messages or the writer has
    // written some, so that neither queue outgrows its bound.
    boost::asio::awaitable<void> wait_for_room();
    bool inbox_full() const;
    bool outbox_full() const { return outbox_.size() >= options_.max_queued_messages; }
    void heard() { last_heard_ = std::chrono::steady_clock::now(); }
    // The peer counts as heard although no frame was read: the reader waits for the owner
    // to take what it read, or bytes wait unread in the socket.
    bool heard_meanwhile() { return reader_waits_on_owner_ || input_pending(); }
    boost::asio::awaitable<void> close_guard();
    void on_read_error(const boost::system::error_code& ec);
    // Records why the connection ended (the first call wins), closes it, wakes everyone.
    void finish(WebSocketCloseStatus::Kind kind, boost::system::error_code ec, std::string message);

    boost::asio::any_io_executor executor_;
    WebSocketOptions options_;
    bool background_reader_;
    WebSocketCloseStatus status_;

    std::deque<std::string> inbox_;
    std::deque<std::string> outbox_;
    Signal inbox_signal_;
    Signal outbox_signal_;
    Signal drained_signal_;
    Signal room_signal_;
    Signal closed_signal_;
    boost::asio::steady_timer ping_timer_;
    boost::asio::steady_timer close_timer_;

    bool started_ = false;
    bool writing_ = false;
    bool holding_segments_ = false;
    bool close_requested_ = false;
    bool close_sent_ = false;
    std::uint16_t close_code_ = 1000;
    std::string close_reason_;
    std::size_t inbox_bytes_ = 0;
    std::size_t max_inbox_seen_ = 0;
    std::size_t max_outbox_seen_ = 0;
    std::chrono::steady_clock::time_point last_heard_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_ping_ = std::chrono::steady_clock::now();
    bool ping_in_flight_ = false;
    bool reader_waits_on_owner_ = false;
};

// Resolves, connects, does TLS for wss (verified), and the WebSocket handshake.
// On success `out` is a started connection with a background reader.
boost::asio::awaitable<NetStatus> connect_websocket(boost::asio::any_io_executor executor,
                                                    const TlsContext& tls, const Url& url,
                                                    const WebSocketOptions& options,
                                                    std::shared_ptr<WsCore>& out);

// The two halves of connect_websocket after name resolution (ws_plain.cpp, ws_tls.cpp).
boost::asio::awaitable<NetStatus> connect_websocket_plain(
    boost::asio::any_io_executor executor,
    const boost::asio::ip::tcp::resolver::results_type& endpoints, const Url& url,
    const WebSocketOptions& options, std::shared_ptr<WsCore>& out);
boost::asio::awaitable<NetStatus> connect_websocket_tls(
    boost::asio::any_io_executor executor, const TlsContext& tls,
    const boost::asio::ip::tcp::resolver::results_type& endpoints, const Url& url,
    const WebSocketOptions& options, std::shared_ptr<WsCore>& out);

}  // namespace incident::net::detail
