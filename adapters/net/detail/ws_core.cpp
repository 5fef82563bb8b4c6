#include "adapters/net/detail/ws_core.hpp"

#include "adapters/net/detail/spawn.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace incident::net {

std::string_view to_string(WebSocketCloseStatus::Kind kind) {
    using Kind = WebSocketCloseStatus::Kind;
    switch (kind) {
        case Kind::open:
            return "open";
        case Kind::closed_locally:
            return "closed_locally";
        case Kind::closed_by_peer:
            return "closed_by_peer";
        case Kind::dead:
            return "dead";
        case Kind::failed:
            return "failed";
    }
    return "unknown";
}

}  // namespace incident::net

namespace incident::net::detail {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;
using Kind = WebSocketCloseStatus::Kind;

void LogExceptions::operator()(std::exception_ptr error) const {
    if (!error) return;
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        spdlog::error("{} failed with an exception: {}", what, e.what());
    } catch (...) {
        spdlog::error("{} failed with an unknown exception", what);
    }
}

Signal::Signal(const asio::any_io_executor& executor)
    : timer_(executor, asio::steady_timer::time_point::max()) {}

awaitable<void> Signal::wait() {
    error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
}

WsCore::WsCore(asio::any_io_executor executor, WebSocketOptions options, bool background_reader)
    : executor_(executor),
      options_(std::move(options)),
      background_reader_(background_reader),
      inbox_signal_(executor),
      outbox_signal_(executor),
      drained_signal_(executor),
      room_signal_(executor),
      closed_signal_(executor),
      ping_timer_(executor),
      close_timer_(executor) {}

void WsCore::start() {
    if (started_) return;
    started_ = true;
    spawn_loop(&WsCore::write_loop, "websocket writer");
    if (background_reader_) {
        spawn_loop(&WsCore::read_loop, "websocket reader");
        if (options_.ping_interval.count() > 0 && options_.dead_after.count() > 0) {
            spawn_loop(&WsCore::liveness_loop, "websocket liveness");
        }
    }
}

void WsCore::spawn_loop(awaitable<void> (WsCore::*loop)(), const char* what) {
    auto self = shared_from_this();
    asio::co_spawn(
        executor_, [self, loop] { return ((*self).*loop)(); },
        [self, what](std::exception_ptr error) {
            if (!error) return;
            LogExceptions{what}(error);
            self->finish(Kind::failed, make_error_code(boost::system::errc::state_not_recoverable),
                         std::string(what) + " failed with an exception");
        });
}

awaitable<std::optional<std::string>> WsCore::read() {
    auto self = shared_from_this();
    if (background_reader_) {
        while (inbox_.empty() && is_open()) co_await inbox_signal_.wait();
        if (inbox_.empty()) co_return std::nullopt;
        std::string message = std::move(inbox_.front());
        inbox_.pop_front();
        inbox_bytes_ -= message.size();
        room_signal_.notify();
        co_return message;
    }
    if (!is_open()) co_return std::nullopt;
    std::string message;
    const error_code ec = co_await read_frame(message);
    if (ec) {
        on_read_error(ec);
        co_return std::nullopt;
    }
    co_return message;
}

std::optional<std::string> WsCore::try_read() {
    if (!background_reader_ || inbox_.empty()) return std::nullopt;
    std::string message = std::move(inbox_.front());
    inbox_.pop_front();
    inbox_bytes_ -= message.size();
    room_signal_.notify();
    return message;
}

bool WsCore::inbox_full() const {
    return inbox_.size() >= options_.max_buffered_messages ||
           inbox_bytes_ >= options_.max_buffered_bytes;
}

WebSocketQueueStats WsCore::queue_stats() const {
    return WebSocketQueueStats{outbox_.size(), max_outbox_seen_, inbox_.size(), max_inbox_seen_,
                               inbox_bytes_};
}

std::chrono::milliseconds WsCore::silent_for() {
    if (heard_meanwhile()) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 last_heard_);
}

bool WsCore::send(std::string text) {
    if (!is_open() || close_requested_) return false;
    outbox_.push_back(std::move(text));
    max_outbox_seen_ = std::max(max_outbox_seen_, outbox_.size());
    outbox_signal_.notify();
    return true;
}

awaitable<void> WsCore::flush() {
    auto self = shared_from_this();
    while (is_open() && (!outbox_.empty() || writing_)) co_await drained_signal_.wait();
}

awaitable<void> WsCore::close(std::uint16_t code, std::string reason) {
    auto self = shared_from_this();
    if (!is_open()) co_return;
    if (!close_requested_) {
        close_requested_ = true;
        close_code_ = code;
        close_reason_ = std::move(reason);
        outbox_signal_.notify();
        ping_timer_.cancel();
        spawn_loop(&WsCore::close_guard, "websocket close guard");
    }
    while (is_open()) co_await closed_signal_.wait();
}

void WsCore::abort(std::string why) {
    finish(Kind::closed_locally, asio::error::operation_aborted, std::move(why));
}

awaitable<void> WsCore::read_loop() {
    auto self = shared_from_this();
    heard();
    while (is_open()) {
        co_await wait_for_room();
        if (!is_open()) break;
        std::string message;
        const error_code ec = co_await read_frame(message);
        if (ec) {
            on_read_error(ec);
            break;
        }
        heard();
        inbox_bytes_ += message.size();
        inbox_.push_back(std::move(message));
        max_inbox_seen_ = std::max(max_inbox_seen_, inbox_.size());
        inbox_signal_.notify();
    }
}

awaitable<void> WsCore::wait_for_room() {
    // The owner is behind: the peer's silence meanwhile is not the peer's fault.
    if (inbox_full()) {
        reader_waits_on_owner_ = true;
        while (is_open() && inbox_full()) co_await room_signal_.wait();
        reader_waits_on_owner_ = false;
        heard();
    }
    // The peer does not take what we write: its silence keeps counting.
    while (is_open() && outbox_full()) co_await drained_signal_.wait();
}

awaitable<void> WsCore::write_loop() {
    auto self = shared_from_this();
    while (is_open()) {
        if (!outbox_.empty()) {
            // The acks of a batch: one transmission for all of them, not a segment (and a
            // wake-up of the peer) each. A lone frame is sent at once.
            if (outbox_.size() > 1 && !holding_segments_) {
                hold_segments(true);
                holding_segments_ = true;
            }
            const std::string message = std::move(outbox_.front());
            outbox_.pop_front();
            writing_ = true;
            const error_code ec = co_await write_frame(message);
            writing_ = false;
            if (holding_segments_ && outbox_.empty()) {
                hold_segments(false);
                holding_segments_ = false;
            }
            drained_signal_.notify();
            if (ec) {
                finish(Kind::failed, ec, "write failed: " + ec.message());
                break;
            }
            continue;
        }
        if (close_requested_) {
            close_sent_ = true;
            // Beast's close operation reads up to the peer's close frame itself (a
            // pending read is cancelled for it), so when it completes the handshake is done.
            const error_code ec = co_await send_close(close_code_, close_reason_);
            if (ec && !is_closed_error(ec)) {
                finish(Kind::closed_locally, ec,
                       "closed without the peer's close frame: " + ec.message());
            } else {
                finish(Kind::closed_locally, {}, "closed");
            }
            break;
        }
        co_await outbox_signal_.wait();
    }
    drained_signal_.notify();
}

awaitable<void> WsCore::liveness_loop() {
    auto self = shared_from_this();
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    using std::chrono::steady_clock;
    error_code ec;
    while (is_open() && !close_requested_) {
        const auto now = steady_clock::now();
        if (heard_meanwhile()) last_heard_ = now;
        const auto silent = now - last_heard_;
        if (silent >= options_.dead_after) {
            const auto ms = duration_cast<milliseconds>(silent).count();
            finish(Kind::dead, asio::error::timed_out,
                   "no frame or pong for " + std::to_string(ms) + " ms (dead after " +
                       std::to_string(options_.dead_after.count()) + " ms)");
            break;
        }
        // Silent for a ping interval, and no ping since then: ask.
        const auto quiet_since = std::max(last_heard_, last_ping_);
        if (now - quiet_since >= options_.ping_interval && !ping_in_flight_) {
            last_ping_ = now;
            ping_in_flight_ = true;
            // Not awaited here: a ping stuck behind a full socket must not delay the verdict.
            spawn_loop(&WsCore::ping_once, "websocket ping");
        }
        // Woken at the verdict, or for the next ping once this one is out (ping_once).
        auto wake = last_heard_ + options_.dead_after;
        if (!ping_in_flight_) {
            wake = std::min(wake, std::max(last_heard_, last_ping_) + options_.ping_interval);
        }
        ping_timer_.expires_at(wake);
        co_await ping_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    }
}

awaitable<void> WsCore::ping_once() {
    auto self = shared_from_this();
    const error_code ec = co_await send_ping();
    ping_in_flight_ = false;
    if (ec && is_open() && !close_requested_) {
        finish(Kind::failed, ec, "ping failed: " + ec.message());
        co_return;
    }
    ping_timer_.cancel();  // the liveness loop plans the next ping
}

awaitable<void> WsCore::close_guard() {
    auto self = shared_from_this();
    error_code ec;
    close_timer_.expires_after(options_.connect_timeout);
    co_await close_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (is_open()) {
        finish(Kind::closed_locally, asio::error::timed_out,
               "closing handshake timed out; connection dropped");
    }
}

void WsCore::on_read_error(const error_code& ec) {
    if (!is_open()) return;
    // Our close frame is out: the close operation took over reading and will finish.
    if (close_sent_ && ec == asio::error::operation_aborted) return;
    if (is_closed_error(ec)) {
        if (close_sent_) {
            finish(Kind::closed_locally, {}, "closed");
            return;
        }
        auto [code, reason] = peer_close();
        std::string message = "closed by peer (code " + std::to_string(code);
        if (!reason.empty()) message += ": " + reason;
        message += ")";
        finish(Kind::closed_by_peer, {}, std::move(message));
        status_.code = code;
        status_.reason = std::move(reason);
        return;
    }
    finish(Kind::failed, ec, "connection lost: " + ec.message());
}

void WsCore::finish(Kind kind, error_code ec, std::string message) {
    if (!is_open()) return;
    status_.kind = kind;
    status_.error = ec;
    status_.message = std::move(message);
    if (kind == Kind::dead || kind == Kind::failed) {
        spdlog::warn("websocket {}: {}", to_string(kind), status_.message);
    } else {
        spdlog::debug("websocket {}: {}", to_string(kind), status_.message);
    }
    outbox_.clear();
    close_transport();
    ping_timer_.cancel();
    close_timer_.cancel();
    inbox_signal_.notify();
    outbox_signal_.notify();
    drained_signal_.notify();
    room_signal_.notify();
    closed_signal_.notify();
}

awaitable<NetStatus> connect_websocket(asio::any_io_executor executor, const TlsContext& tls,
                                       const Url& url, const WebSocketOptions& options,
                                       std::shared_ptr<WsCore>& out) {
    if (!url.websocket()) {
        co_return NetStatus::failure(make_error_code(boost::system::errc::invalid_argument),
                                     "not a ws:// or wss:// URL: " + url.to_string());
    }
    asio::ip::tcp::resolver resolver(executor);
    error_code ec;
    const auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                           asio::redirect_error(use_awaitable, ec));
    if (ec) co_return NetStatus::failure(ec, "resolve " + url.host + ": " + ec.message());
    if (url.tls()) {
        co_return co_await connect_websocket_tls(executor, tls, endpoints, url, options, out);
    }
    co_return co_await connect_websocket_plain(executor, endpoints, url, options, out);
}

}  // namespace incident::net::detail
