#include "adapters/net/detail/ws_core.hpp"

#include "adapters/net/detail/spawn.hpp"

#include <spdlog/spdlog.h>
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
      closed_signal_(executor),
      ping_timer_(executor),
      close_timer_(executor) {}

void WsCore::start() {
    if (started_) return;
    started_ = true;
    spawn_loop(&WsCore::write_loop, "websocket writer");
    if (background_reader_) {
        spawn_loop(&WsCore::read_loop, "websocket reader");
        if (options_.ping_interval.count() > 0) spawn_loop(&WsCore::ping_loop, "websocket pinger");
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
    return message;
}

bool WsCore::send(std::string text) {
    if (!is_open() || close_requested_) return false;
    if (outbox_.size() >= options_.max_queued_messages) {
        spdlog::warn("websocket: send queue full ({} messages), dropping a message",
                     outbox_.size());
        return false;
    }
    outbox_.push_back(std::move(text));
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

void WsCore::on_pong() {
    if (!awaiting_pong_) return;
    pong_received_ = true;
    ping_timer_.cancel();
}

awaitable<void> WsCore::read_loop() {
    auto self = shared_from_this();
    while (is_open()) {
        std::string message;
        const error_code ec = co_await read_frame(message);
        if (ec) {
            on_read_error(ec);
            break;
        }
        inbox_.push_back(std::move(message));
        inbox_signal_.notify();
    }
}

awaitable<void> WsCore::write_loop() {
    auto self = shared_from_this();
    while (is_open()) {
        if (!outbox_.empty()) {
            const std::string message = std::move(outbox_.front());
            outbox_.pop_front();
            writing_ = true;
            const error_code ec = co_await write_frame(message);
            writing_ = false;
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

awaitable<void> WsCore::ping_loop() {
    auto self = shared_from_this();
    error_code ec;
    while (is_open() && !close_requested_) {
        ping_timer_.expires_after(options_.ping_interval);
        co_await ping_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
        if (!is_open() || close_requested_) break;

        pong_received_ = false;
        awaiting_pong_ = true;
        ec = co_await send_ping();
        if (ec) {
            awaiting_pong_ = false;
            if (is_open()) finish(Kind::failed, ec, "ping failed: " + ec.message());
            break;
        }
        if (!pong_received_) {
            ping_timer_.expires_after(options_.pong_timeout);
            co_await ping_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
        }
        awaiting_pong_ = false;
        if (!is_open() || close_requested_) break;
        if (!pong_received_) {
            finish(Kind::dead, asio::error::timed_out,
                   "no pong within " + std::to_string(options_.pong_timeout.count()) + " ms");
            break;
        }
    }
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
