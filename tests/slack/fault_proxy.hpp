#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace incident::testing {

// A TCP proxy on loopback in front of a fake server, for faults that a WebSocket
// session cannot make: a frame cut in half, bytes that are no frame at all. Everything
// else is passed through as it comes (HTTP and WebSocket alike).
class FaultProxy {
public:
    FaultProxy(boost::asio::any_io_executor executor, std::uint16_t target_port);
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    std::uint16_t port() const;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }

    // The next bytes the server sends on a WebSocket connection are cut in the middle of
    // their first frame: the client gets the first part, then both connections are
    // dropped. Arm it while the connection is idle, so those bytes start a frame.
    void tear_next_frame() { tear_ = true; }
    int torn() const { return torn_; }
    // Writes `bytes` to the client of every open WebSocket connection, as if the server
    // had sent them. Call it while the connection is idle.
    void inject(const std::string& bytes);
    // Every open WebSocket connection goes silent both ways, as behind a NAT that lost the
    // flow: nothing is passed on any more, nothing is closed, no RST, no FIN. Connections
    // made afterwards are passed through as usual.
    void silence();
    int silenced() const { return static_cast<int>(silenced_.size()); }
    // Stops listening and drops every connection: connecting is refused until
    // accept_again(), which listens on the same port once more.
    void refuse_connections();
    void accept_again();

    struct Link;

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket client);
    boost::asio::awaitable<void> pump(std::shared_ptr<Link> link, bool from_server);

    boost::asio::any_io_executor executor_;
    std::uint16_t target_port_;
    std::uint16_t port_ = 0;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::vector<std::weak_ptr<Link>> links_;
    std::vector<std::shared_ptr<Link>> silenced_;  // kept open, never read again
    bool tear_ = false;
    int torn_ = 0;
};

}  // namespace incident::testing
