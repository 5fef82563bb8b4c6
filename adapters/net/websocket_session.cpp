#include "adapters/net/websocket_session.hpp"

#include "adapters/net/detail/ws_core.hpp"

namespace incident::net {

using boost::asio::awaitable;

WebSocketSession::WebSocketSession(std::shared_ptr<detail::WsCore> core, HttpRequest request)
    : core_(std::move(core)), request_(std::make_shared<const HttpRequest>(std::move(request))) {}

awaitable<std::optional<std::string>> WebSocketSession::read() {
    auto core = core_;
    co_return co_await core->read();
}

bool WebSocketSession::send(std::string text) {
    return core_->send(std::move(text));
}

awaitable<void> WebSocketSession::flush() {
    auto core = core_;
    co_await core->flush();
}

awaitable<void> WebSocketSession::close(std::uint16_t code, std::string reason) {
    auto core = core_;
    co_await core->close(code, std::move(reason));
}

void WebSocketSession::abort() {
    core_->abort("aborted by the server");
}

bool WebSocketSession::is_open() const {
    return core_->is_open();
}

WebSocketQueueStats WebSocketSession::queue_stats() const {
    return core_->queue_stats();
}

WebSocketCloseStatus WebSocketSession::close_status() const {
    return core_->status();
}

}  // namespace incident::net
