#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "adapters/notify/email_sink.hpp"
#include "adapters/notify/signature.hpp"
#include "events.hpp"
#include "smtp_server.hpp"
#include "test_certs.hpp"

using namespace incident;
using namespace incident::notify;
using incident::net::testing::TestCertificates;
using incident::notify::testing::body;
using incident::notify::testing::header;
using incident::notify::testing::sample_event;
using incident::notify::testing::SmtpServer;
using std::chrono::milliseconds;

namespace {

EmailOptions options_for(const std::string& url) {
    EmailOptions options;
    options.url = url;
    options.from = "Incident Bot <incident-bot@example.com>";
    options.to = {"cto@example.com", "support-leads@example.com"};
    options.timeout = milliseconds(5000);
    options.max_attempts = 3;
    options.backoff = net::BackoffOptions{milliseconds(10), milliseconds(40), net::Jitter::full};
    return options;
}

// Accepts TCP connections (the kernel does) but never says a word: an SMTP server that hangs.
class SilentServer {
public:
    SilentServer() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(fd_, 4) == 0);
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
        port_ = ntohs(address.sin_port);
    }
    ~SilentServer() { ::close(fd_); }
    std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

bool wait_idle(const EmailSink& sink, milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (sink.stats().pending > 0) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(milliseconds(10));
    }
    return true;
}

}  // namespace

TEST_CASE("email: a real SMTP server receives declared, resolved and the post-mortem link") {
    SmtpServer server;
    EmailSink sink(options_for(server.url()));
    sink.start();
    Notify declared = sample_event(NotifyKind::declared);
    Notify update = sample_event(NotifyKind::update);
    Notify resolved = sample_event(NotifyKind::resolved);
    resolved.text = "resolved by @alice: rolled back deploy 4312";
    Notify published = sample_event(NotifyKind::postmortem_published);
    published.state = State::resolved;
    published.final_severity = Severity::sev3;
    for (const auto& n : {declared, update, resolved, published}) sink.deliver(n);

    REQUIRE_MESSAGE(server.wait_for(3, milliseconds(15000)), server.output());
    REQUIRE(wait_idle(sink, milliseconds(5000)));
    const auto mail = server.messages();
    REQUIRE(mail.size() == 3);  // no email for the update
    CHECK(sink.stats().sent == 3);

    const std::string& m = mail[1];
    CHECK(header(m, "Subject") == "[INC-7 SEV2] Checkout returns 502s: resolved");
    CHECK(header(m, "From") == "Incident Bot <incident-bot@example.com>");
    CHECK(header(m, "To") == "cto@example.com, support-leads@example.com");
    // The envelope, as the server saw it.
    CHECK(header(m, "X-MailFrom") == "incident-bot@example.com");
    CHECK(header(m, "X-RcptTo") == "cto@example.com, support-leads@example.com");
    CHECK(header(m, "Message-ID") == "<" + delivery_id(resolved) + "@example.com>");
    const std::string text = body(m);
    CHECK(text.find("resolved by @alice: rolled back deploy 4312") != std::string::npos);
    CHECK(text.find("Incident page: https://bot.example.com/incidents/INC-7") != std::string::npos);
    CHECK(text.find("Post-mortem: https://bot.example.com/incidents/INC-7/postmortem") !=
          std::string::npos);

    CHECK(header(mail[0], "Subject") == "[INC-7 SEV2] Checkout returns 502s: declared");
    CHECK(header(mail[2], "Subject") ==
          "[INC-7 SEV3] Checkout returns 502s: post-mortem published");
    CHECK(body(mail[2]).find("https://bot.example.com/incidents/INC-7/postmortem") !=
          std::string::npos);
}

TEST_CASE("email: STARTTLS against a server that requires it, trusting an extra CA file") {
    const TestCertificates certs;
    SmtpServer server(SmtpServer::Tls{certs.cert_file(), certs.key_file()});
    EmailOptions options = options_for(server.url());
    options.require_tls = true;
    options.ca_file = certs.ca_file();
    EmailSink sink(options);
    sink.start();
    sink.deliver(sample_event(NotifyKind::declared));
    REQUIRE_MESSAGE(server.wait_for(1, milliseconds(15000)), server.output());
    CHECK(header(server.messages()[0], "Subject") ==
          "[INC-7 SEV2] Checkout returns 502s: declared");

    SUBCASE("without the CA the certificate is refused and nothing is sent") {
        EmailOptions untrusted = options;
        untrusted.ca_file.clear();
        EmailSink other(untrusted);
        other.start();
        other.deliver(sample_event(NotifyKind::resolved));
        REQUIRE(wait_idle(other, milliseconds(10000)));
        CHECK(other.stats().dropped == 1);
        CHECK(other.stats().sent == 0);
        CHECK(server.messages().size() == 1);
    }
}

TEST_CASE("email: required TLS is never given up for clear text") {
    SmtpServer server;  // offers no STARTTLS
    EmailOptions options = options_for(server.url());
    options.require_tls = true;
    options.user = "bot";
    options.password = "never-in-clear-text";
    EmailSink sink(options);
    sink.start();
    sink.deliver(sample_event(NotifyKind::declared));
    REQUIRE(wait_idle(sink, milliseconds(10000)));
    CHECK(sink.stats().dropped == 1);
    CHECK(sink.stats().retries == 0);  // a missing STARTTLS does not fix itself
    CHECK(server.messages().empty());
    CHECK(server.output().find("never-in-clear-text") == std::string::npos);
}

TEST_CASE("email: an unreachable server is retried a bounded number of times") {
    EmailOptions options = options_for("smtp://127.0.0.1:" + std::to_string(testing::free_port()));
    EmailSink sink(options);
    sink.start();
    sink.deliver(sample_event(NotifyKind::declared));
    sink.deliver(sample_event(NotifyKind::update));  // not an email event: never queued
    REQUIRE(wait_idle(sink, milliseconds(10000)));
    const EmailStats stats = sink.stats();
    CHECK(stats.dropped == 1);
    CHECK(stats.retries == 2);
    CHECK(stats.sent == 0);
}

TEST_CASE("email: stop() ends the worker promptly, even during a retry wait") {
    EmailOptions options = options_for("smtp://127.0.0.1:" + std::to_string(testing::free_port()));
    options.backoff =
        net::BackoffOptions{std::chrono::seconds(30), std::chrono::seconds(30), net::Jitter::none};
    EmailSink sink(options);
    sink.start();
    sink.deliver(sample_event(NotifyKind::declared));
    std::this_thread::sleep_for(milliseconds(300));
    const auto started = std::chrono::steady_clock::now();
    sink.stop();
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    CHECK(sink.stats().sent == 0);
}

TEST_CASE("email: stop() aborts a transfer that hangs") {
    SilentServer silent;
    EmailOptions options = options_for(silent.url());
    options.timeout = std::chrono::seconds(60);
    EmailSink sink(options);
    sink.start();
    sink.deliver(sample_event(NotifyKind::declared));
    std::this_thread::sleep_for(milliseconds(300));
    CHECK(sink.stats().pending == 1);
    const auto started = std::chrono::steady_clock::now();
    sink.stop();
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    CHECK(sink.stats().sent == 0);
}
