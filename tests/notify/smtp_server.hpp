#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "free_port.hpp"

namespace incident::notify::testing {

// A real SMTP server for the duration of a test: Debian's python3-aiosmtpd, started on
// 127.0.0.1 and an unused port, writing every message it accepts into a Maildir. With a
// certificate it offers STARTTLS and refuses mail without it. Its handler (aiosmtpd's
// Mailbox, extended) can be told to refuse recipients or to answer the next DATA commands
// with given replies, as real servers do. Stopped (SIGTERM, then SIGKILL) and cleaned up by
// the destructor.
class SmtpServer {
public:
    struct Tls {
        std::string cert_file;
        std::string key_file;
    };

    // Throws std::runtime_error (with the server's output) when it does not come up within
    // ten seconds.
    explicit SmtpServer(std::optional<Tls> tls = std::nullopt);
    ~SmtpServer();
    SmtpServer(const SmtpServer&) = delete;
    SmtpServer& operator=(const SmtpServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

    // RCPT TO one of these is answered "550 5.1.1 <address>: Recipient address rejected: User
    // unknown" (an empty list accepts every recipient again).
    void reject_recipients(const std::vector<std::string>& addresses);
    // The next DATA commands, one each, are answered with these replies ("451 4.3.0 Try
    // again later") instead of accepting the message; then messages are accepted again.
    void reply_to_data(const std::vector<std::string>& replies);
    // Messages refused by a scripted DATA reply so far.
    std::size_t refused() const;

    // The raw messages received so far, oldest first.
    std::vector<std::string> messages() const;
    // Polls until `count` messages are there; false when `limit` passed first.
    bool wait_for(std::size_t count, std::chrono::milliseconds limit) const;
    // What the server printed, for failure messages.
    std::string output() const;

private:
    void stop();

    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

using incident::testing::free_port;

// The value of header `name` in a raw message, unfolded; empty when absent.
std::string header(const std::string& message, const std::string& name);
// Everything after the blank line that ends the headers, with LF line ends.
std::string body(const std::string& message);

}  // namespace incident::notify::testing
