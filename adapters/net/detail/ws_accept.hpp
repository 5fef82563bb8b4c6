#pragma once

#include "adapters/net/detail/ws_core.hpp"

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace incident::net::detail {

using UpgradeRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Server side: takes over an HTTP connection whose request is a WebSocket upgrade and
// answers it. On success `out` is a started connection without a background reader.
boost::asio::awaitable<NetStatus> accept_websocket(boost::beast::tcp_stream&& stream,
                                                   const UpgradeRequest& request,
                                                   const WebSocketOptions& options,
                                                   const std::string& server_name,
                                                   std::shared_ptr<WsCore>& out);
boost::asio::awaitable<NetStatus> accept_websocket(
    boost::beast::ssl_stream<boost::beast::tcp_stream>&& stream, const UpgradeRequest& request,
    const WebSocketOptions& options, const std::string& server_name, std::shared_ptr<WsCore>& out);

}  // namespace incident::net::detail
