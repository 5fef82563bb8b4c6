#include "adapters/net/websocket_client.hpp"

#include "adapters/net/detail/ws_core.hpp"
#include "adapters/net/url.hpp"

#include <boost/asio/error.hpp>

namespace incident::net {

using boost::asio::awaitable;

WebSocketClient::WebSocketClient(boost::asio::any_io_executor executor, TlsContext tls,
                                 WebSocketOptions options)
    : executor_(std::move(executor)), tls_(std::move(tls)), options_(std::move(options)) {}

WebSocketClient::~WebSocketClient() {
    if (core_) core_->abort("client destroyed");
}

awaitable<NetStatus> WebSocketClient::connect(std::string url_text) {
    if (connect_called_) {
        co_return NetStatus::failure(boost::asio::error::already_connected,
                                     "WebSocketClient is single use; make a new one");
    }
    connect_called_ = true;
    std::string error;
    const auto url = Url::parse(url_text, &error);
    if (!url) {
        co_return NetStatus::failure(make_error_code(boost::system::errc::invalid_argument), error);
    }
    std::shared_ptr<detail::WsCore> core;
    auto status = co_await detail::connect_websocket(executor_, tls_, *url, options_, core);
    if (status.ok()) core_ = std::move(core);
    co_return status;
}

std::optional<std::string> WebSocketClient::try_read() {
    return core_ ? core_->try_read() : std::nullopt;
}

bool WebSocketClient::input_pending() {
    return core_ && core_->input_pending();
}

awaitable<std::optional<std::string>> WebSocketClient::read() {
    // A local copy: the coroutine must not touch `this` after resuming, the client
    // may be gone by then.
    auto core = core_;
    if (!core) co_return std::nullopt;
    co_return co_await core->read();
}

bool WebSocketClient::send(std::string text) {
    return core_ && core_->send(std::move(text));
}

awaitable<void> WebSocketClient::flush() {
    if (auto core = core_) co_await core->flush();
}

awaitable<void> WebSocketClient::close(std::uint16_t code, std::string reason) {
    if (auto core = core_) co_await core->close(code, std::move(reason));
}

void WebSocketClient::abort() {
    if (core_) core_->abort("aborted by the client");
}

bool WebSocketClient::is_open() const {
    return core_ && core_->is_open();
}

WebSocketCloseStatus WebSocketClient::close_status() const {
    if (core_) return core_->status();
    WebSocketCloseStatus status;
    status.kind = WebSocketCloseStatus::Kind::failed;
    status.message = connect_called_ ? "connect failed" : "not connected";
    return status;
}

}  // namespace incident::net
