#pragma once

#include "adapters/net/http_server.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

namespace incident::net {

struct HttpServer::State {
    State(boost::asio::any_io_executor executor, HttpHandler handler, HttpServerOptions options)
        : executor(executor),
          handler(std::move(handler)),
          options(std::move(options)),
          acceptor(executor) {}

    struct Route {
        WebSocketHandler handler;
        WebSocketCheck check;
    };

    boost::asio::any_io_executor executor;
    HttpHandler handler;
    HttpServerOptions options;
    std::map<std::string, Route, std::less<>> routes;
    boost::asio::ip::tcp::acceptor acceptor;
    std::uint16_t port = 0;
    bool listening = false;
    bool stopped = false;
    std::uint64_t next_id = 0;
    // How to drop each open connection, for stop().
    std::unordered_map<std::uint64_t, std::function<void()>> closers;
};

namespace detail {

// A connection's entry in State::closers, for as long as the connection lives.
class Registration {
public:
    Registration(std::shared_ptr<HttpServer::State> state, std::function<void()> closer)
        : state_(std::move(state)), id_(state_->next_id++) {
        state_->closers[id_] = std::move(closer);
    }
    ~Registration() { state_->closers.erase(id_); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

    void replace(std::function<void()> closer) { state_->closers[id_] = std::move(closer); }

private:
    std::shared_ptr<HttpServer::State> state_;
    std::uint64_t id_;
};

std::string endpoint_string(const boost::asio::ip::tcp::endpoint& endpoint);

// One accepted connection, from TLS handshake (if any) to close: http_connection_plain.cpp
// and http_connection_tls.cpp, the heavy Beast halves, compiled in parallel.
boost::asio::awaitable<void> run_plain_connection(std::shared_ptr<HttpServer::State> state,
                                                  boost::asio::ip::tcp::socket socket,
                                                  std::string remote);
boost::asio::awaitable<void> run_tls_connection(std::shared_ptr<HttpServer::State> state,
                                                boost::asio::ip::tcp::socket socket,
                                                std::string remote);

}  // namespace detail

}  // namespace incident::net
