#include "free_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <stdexcept>

namespace incident::testing {

namespace {

// The first port the kernel hands out to connect() and bind(0).
int ephemeral_low() {
    std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
    int low = 0;
    int high = 0;
    if (range >> low >> high) return low;
    return 32768;
}

// Binds `port` of 127.0.0.1 (0: the kernel's pick) and returns the port bound, 0 when taken.
std::uint16_t try_bind(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    socklen_t length = sizeof address;
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    ::close(fd);
    return bound ? ntohs(address.sin_port) : 0;
}

}  // namespace

std::uint16_t free_port() {
    constexpr int k_lowest = 10000;
    const int below = ephemeral_low();
    if (below - k_lowest >= 1000) {
        static std::mt19937 random{std::random_device{}()};
        std::uniform_int_distribution<int> pick(k_lowest, below - 1);
        for (int attempt = 0; attempt < 200; ++attempt) {
            if (const auto port = try_bind(static_cast<std::uint16_t>(pick(random)))) return port;
        }
    }
    if (const auto port = try_bind(0)) return port;
    throw std::runtime_error("cannot find a free loopback port");
}

}  // namespace incident::testing
