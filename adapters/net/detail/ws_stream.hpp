#pragma once

#include "adapters/net/detail/tls.hpp"
#include "adapters/net/detail/ws_accept.hpp"
#include "adapters/net/detail/ws_core.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <type_traits>

// Beast WebSocket streams behind WsCore. Included by ws_plain.cpp and ws_tls.cpp only,
// each instantiating one stream type, so the two heavy halves compile in parallel.
namespace incident::net::detail {

namespace ws_impl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <class Next>
class WsStream final : public WsCore {
public:
    template <class... Args>
    WsStream(asio::any_io_executor executor, WebSocketOptions options, bool background_reader,
             Args&&... args)
        : WsCore(std::move(executor), std::move(options), background_reader),
          ws_(std::forward<Args>(args)...) {
        ws_.read_message_max(this->options().max_message_size);
        ws_.text(true);
        ws_.control_callback(
            [this](websocket::frame_type, beast::string_view) { on_control_frame(); });
    }

    websocket::stream<Next>& ws() { return ws_; }

    bool input_pending() override {
        if constexpr (std::is_same_v<Next, TlsStream>) {
            if (SSL_pending(ws_.next_layer().native_handle()) > 0) return true;
        }
        error_code ec;
        return beast::get_lowest_layer(ws_).socket().available(ec) > 0 && !ec;
    }

protected:
    awaitable<error_code> read_frame(std::string& out) override {
        beast::flat_buffer buffer;
        error_code ec;
        co_await ws_.async_read(buffer, asio::redirect_error(use_awaitable, ec));
        if (!ec) out = beast::buffers_to_string(buffer.data());
        co_return ec;
    }

    awaitable<error_code> write_frame(const std::string& text) override {
        error_code ec;
        co_await ws_.async_write(asio::buffer(text), asio::redirect_error(use_awaitable, ec));
        co_return ec;
    }

    awaitable<error_code> send_ping() override {
        error_code ec;
        co_await ws_.async_ping({}, asio::redirect_error(use_awaitable, ec));
        co_return ec;
    }

    awaitable<error_code> send_close(std::uint16_t code, const std::string& reason) override {
        error_code ec;
        websocket::close_reason why(code);
        why.reason = reason;
        co_await ws_.async_close(why, asio::redirect_error(use_awaitable, ec));
        co_return ec;
    }

    void close_transport() override { beast::get_lowest_layer(ws_).close(); }

    void hold_segments(bool hold) override {
        // Best effort: a socket that refuses it sends each frame on its own, as before.
        const int value = hold ? 1 : 0;
        ::setsockopt(beast::get_lowest_layer(ws_).socket().native_handle(), IPPROTO_TCP, TCP_CORK,
                     &value, sizeof value);
    }

    std::pair<std::uint16_t, std::string> peer_close() const override {
        const auto& why = ws_.reason();
        return {static_cast<std::uint16_t>(why.code), std::string(why.reason.c_str())};
    }

    bool is_closed_error(const error_code& ec) const override {
        return ec == websocket::error::closed;
    }

private:
    websocket::stream<Next> ws_;
};

inline void set_timeouts(auto& ws, const WebSocketOptions& options) {
    // Liveness is ours (WsCore's pinger), so Beast only bounds the handshakes.
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = options.connect_timeout;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws.set_option(timeouts);
}

inline std::string where(const Url& url) {
    return url.host + ":" + std::to_string(url.port);
}

template <class Next>
awaitable<NetStatus> client_handshake(WsStream<Next>& stream,
                                      const asio::ip::tcp::resolver::results_type& endpoints,
                                      const Url& url, const WebSocketOptions& options) {
    auto& ws = stream.ws();
    auto& tcp = beast::get_lowest_layer(ws);
    error_code ec;

    tcp.expires_after(options.connect_timeout);
    co_await tcp.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
    if (ec) {
        co_return NetStatus::failure(ec, "connect to " + where(url) + ": " + ec.message());
    }
    // Small frames (acks, events) must not wait for Nagle's algorithm.
    tcp.socket().set_option(asio::ip::tcp::no_delay(true), ec);
    if constexpr (std::is_same_v<Next, TlsStream>) {
        if (auto prepared = prepare_client_tls(ws.next_layer().native_handle(), url.host);
            !prepared.ok()) {
            co_return prepared;
        }
        co_await ws.next_layer().async_handshake(asio::ssl::stream_base::client,
                                                 asio::redirect_error(use_awaitable, ec));
        if (ec) {
            co_return NetStatus::failure(
                ec, "TLS handshake with " + where(url) + ": " +
                        describe_tls_error(ws.next_layer().native_handle(), ec));
        }
    }
    tcp.expires_never();

    set_timeouts(ws, options);
    ws.set_option(websocket::stream_base::decorator([options](websocket::request_type& req) {
        req.set(beast::http::field::user_agent, options.user_agent);
        for (const auto& [name, value] : options.headers) req.set(name, value);
    }));
    websocket::response_type response;
    co_await ws.async_handshake(response, url.host_header(), url.target,
                                asio::redirect_error(use_awaitable, ec));
    if (ec) {
        std::string message = "WebSocket handshake with " + url.to_string() + ": ";
        const unsigned status = response.result_int();
        if (status != 0 && status != 101) {
            message += "HTTP " + std::to_string(status) + " " + std::string(response.reason());
            if (!response.body().empty()) message += ": " + response.body().substr(0, 200);
        } else {
            message += ec.message();
        }
        co_return NetStatus::failure(ec, std::move(message));
    }
    co_return NetStatus::success();
}

template <class Next>
awaitable<NetStatus> server_accept(Next&& next, const UpgradeRequest& request,
                                   const WebSocketOptions& options, const std::string& server_name,
                                   std::shared_ptr<WsCore>& out) {
    auto executor = next.get_executor();
    WebSocketOptions session_options = options;
    session_options.ping_interval = std::chrono::milliseconds(0);
    auto stream = std::make_shared<WsStream<std::decay_t<Next>>>(executor, session_options, false,
                                                                 std::move(next));
    auto& ws = stream->ws();
    set_timeouts(ws, options);
    ws.set_option(websocket::stream_base::decorator([server_name](websocket::response_type& res) {
        res.set(beast::http::field::server, server_name);
    }));
    error_code ec;
    co_await ws.async_accept(request, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return NetStatus::failure(ec, "WebSocket accept: " + ec.message());
    stream->start();
    out = std::move(stream);
    co_return NetStatus::success();
}

}  // namespace ws_impl

}  // namespace incident::net::detail
