#include "adapters/net/detail/ws_stream.hpp"

namespace incident::net::detail {

using namespace ws_impl;

awaitable<NetStatus> connect_websocket_plain(asio::any_io_executor executor,
                                             const asio::ip::tcp::resolver::results_type& endpoints,
                                             const Url& url, const WebSocketOptions& options,
                                             std::shared_ptr<WsCore>& out) {
    auto stream = std::make_shared<WsStream<beast::tcp_stream>>(executor, options, true, executor);
    auto status = co_await client_handshake(*stream, endpoints, url, options);
    if (!status.ok()) co_return status;
    stream->start();
    out = std::move(stream);
    co_return NetStatus::success();
}

awaitable<NetStatus> accept_websocket(beast::tcp_stream&& stream, const UpgradeRequest& request,
                                      const WebSocketOptions& options,
                                      const std::string& server_name,
                                      std::shared_ptr<WsCore>& out) {
    return server_accept(std::move(stream), request, options, server_name, out);
}

}  // namespace incident::net::detail
