#include "adapters/net/detail/ws_stream.hpp"

namespace incident::net::detail {

using namespace ws_impl;

awaitable<NetStatus> connect_websocket_tls(asio::any_io_executor executor, const TlsContext& tls,
                                           const asio::ip::tcp::resolver::results_type& endpoints,
                                           const Url& url, const WebSocketOptions& options,
                                           std::shared_ptr<WsCore>& out) {
    auto stream =
        std::make_shared<WsStream<TlsStream>>(executor, options, true, executor, tls.native());
    auto status = co_await client_handshake(*stream, endpoints, url, options);
    if (!status.ok()) co_return status;
    stream->start();
    out = std::move(stream);
    co_return NetStatus::success();
}

awaitable<NetStatus> accept_websocket(TlsStream&& stream, const UpgradeRequest& request,
                                      const WebSocketOptions& options,
                                      const std::string& server_name,
                                      std::shared_ptr<WsCore>& out) {
    return server_accept(std::move(stream), request, options, server_name, out);
}

}  // namespace incident::net::detail
