#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>

#include "adapters/notify/email_sink.hpp"
#include "adapters/notify/signature.hpp"
#include "events.hpp"
#include "log_capture.hpp"
#include "outbox_fixture.hpp"
#include "run_async.hpp"
#include "smtp_server.hpp"
#include "test_certs.hpp"

using namespace incident;
using namespace incident::notify;
using incident::net::testing::run_async;
using incident::net::testing::TestCertificates;
using incident::net::testing::wait_until;
using incident::notify::testing::body;
using incident::notify::testing::header;
using incident::notify::testing::NotifyOutbox;
using incident::notify::testing::sample_event;
using incident::notify::testing::SmtpServer;
using std::chrono::milliseconds;
namespace asio = boost::asio;
using asio::awaitable;

namespace {

EmailOptions options_for(const std::string& url) {
    EmailOptions options;
    options.url = url;
    options.from = "Incident Bot <incident-bot@example.com>";
    options.to = {"cto@example.com", "support-leads@example.com"};
    options.timeout = milliseconds(5000);
    options.outbox = incident::notify::testing::fast_retries();
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

// The sink's worker runs on `io` while `until` is false, for at most `limit`.
bool run_until(asio::io_context& io, std::function<bool()> until, milliseconds limit) {
    bool reached = false;
    const bool finished = run_async(
        io, [&]() -> awaitable<void> { reached = co_await wait_until(until, limit); },
        limit + milliseconds(5000));
    return finished && reached;
}

// `event` through a sink of its own on `box`, until nothing is pending.
bool deliver_one(const EmailOptions& options, const Notify& event, NotifyOutbox& box) {
    asio::io_context io;
    EmailSink sink(io.get_executor(), box.outbox, options);
    sink.start();
    box.write(event);
    return run_until(
        io, [&] { return sink.stats().pending == 0; }, milliseconds(15000));
}

}  // namespace

TEST_CASE("email: a real SMTP server receives declared, resolved and the post-mortem link") {
    SmtpServer server;
    asio::io_context io;
    NotifyOutbox box;
    EmailSink sink(io.get_executor(), box.outbox, options_for(server.url()));
    sink.start();
    Notify declared = sample_event(NotifyKind::declared);
    Notify update = sample_event(NotifyKind::update);
    Notify resolved = sample_event(NotifyKind::resolved);
    resolved.text = "resolved by @alice: rolled back deploy 4312";
    Notify published = sample_event(NotifyKind::postmortem_published);
    published.state = State::resolved;
    published.final_severity = Severity::sev3;
    for (const auto& n : {declared, update, resolved, published}) box.write(n);

    REQUIRE_MESSAGE(run_until(
                        io, [&] { return sink.stats().pending == 0; }, milliseconds(15000)),
                    server.output());
    const auto mail = server.messages();
    REQUIRE(mail.size() == 3);  // no email for the update
    CHECK(sink.stats().sent == 3);
    CHECK(sink.stats().skipped == 1);
    CHECK(box.failed().empty());

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

TEST_CASE("email: a 4xx reply is retried from the outbox and the message delivered once") {
    SmtpServer server;
    server.reply_to_data({"451 4.3.0 Mailbox busy, try again later"});
    asio::io_context io;
    NotifyOutbox box;
    EmailSink sink(io.get_executor(), box.outbox, options_for(server.url()));
    sink.start();
    const Notify declared = sample_event(NotifyKind::declared);
    const Notify resolved = sample_event(NotifyKind::resolved);
    box.write(declared);
    box.write(resolved);
    REQUIRE_MESSAGE(run_until(
                        io, [&] { return sink.stats().pending == 0; }, milliseconds(15000)),
                    server.output());
    CHECK(server.refused() == 1);
    const auto mail = server.messages();
    REQUIRE(mail.size() == 2);  // each once, in order: the resolution waited for the retry
    CHECK(header(mail[0], "Message-ID") == "<" + delivery_id(declared) + "@example.com>");
    CHECK(header(mail[1], "Message-ID") == "<" + delivery_id(resolved) + "@example.com>");
    CHECK(sink.stats().sent == 2);
    CHECK(sink.stats().retries == 1);
    CHECK(box.failed().empty());
}

TEST_CASE("email: 550 unknown recipient is failed with the server's words, and Retry sends it") {
    SmtpServer server;
    server.reject_recipients({"nobody@example.com"});
    asio::io_context io;
    NotifyOutbox box;
    incident::notify::testing::FailureCounter observer;
    EmailOptions options = options_for(server.url());
    options.to = {"cto@example.com", "nobody@example.com"};
    EmailSink sink(io.get_executor(), box.outbox, options, &observer);
    sink.start();
    box.write(sample_event(NotifyKind::declared));
    REQUIRE_MESSAGE(run_until(
                        io, [&] { return sink.stats().pending == 0; }, milliseconds(15000)),
                    server.output());
    CHECK(server.messages().empty());
    const auto failed = box.failed();
    REQUIRE(failed.size() == 1);
    const OutboxEntry& entry = failed[0];
    CHECK(entry.sink == "email");
    CHECK(entry.kind == "notify");
    CHECK(entry.attempts == 1);  // a 5xx is not retried
    CHECK(entry.error.find("550 5.1.1 <nobody@example.com>: Recipient address rejected") !=
          std::string::npos);
    CHECK(entry.error.find("[smtp://127.0.0.1:") != std::string::npos);
    CHECK(box.failed_count("email") == 1);
    CHECK(sink.stats().failed == 1);
    CHECK(observer.failures == std::vector<std::string>{"email/notify"});

    // The address exists now: Retry (the dashboard's button) sends it once.
    server.reject_recipients({});
    REQUIRE(box.outbox.retry(entry.id));
    box.outbox.wake_all();
    REQUIRE_MESSAGE(run_until(
                        io, [&] { return sink.stats().pending == 0; }, milliseconds(15000)),
                    server.output());
    REQUIRE(server.messages().size() == 1);
    CHECK(header(server.messages()[0], "X-RcptTo") == "cto@example.com, nobody@example.com");
    CHECK(box.failed().empty());
    CHECK(box.outbox.entry(entry.id)->status == OutboxStatus::delivered);
}

TEST_CASE("email: STARTTLS against a server that requires it, trusting an extra CA file") {
    const TestCertificates certs;
    SmtpServer server(SmtpServer::Tls{certs.cert_file(), certs.key_file()});
    EmailOptions options = options_for(server.url());
    options.require_tls = true;
    options.ca_file = certs.ca_file();
    NotifyOutbox box;
    REQUIRE_MESSAGE(deliver_one(options, sample_event(NotifyKind::declared), box), server.output());
    REQUIRE(server.messages().size() == 1);
    CHECK(header(server.messages()[0], "Subject") ==
          "[INC-7 SEV2] Checkout returns 502s: declared");
    CHECK(box.failed().empty());

    SUBCASE("without the CA the certificate is refused and nothing is sent") {
        EmailOptions untrusted = options;
        untrusted.ca_file.clear();
        NotifyOutbox other;
        REQUIRE(deliver_one(untrusted, sample_event(NotifyKind::resolved), other));
        const auto failed = other.failed();
        REQUIRE(failed.size() == 1);
        CHECK(failed[0].error.find("certificate") != std::string::npos);
        CHECK(server.messages().size() == 1);
    }
}

TEST_CASE("email: required TLS is never given up for clear text, and the password never shows") {
    SmtpServer server;  // offers no STARTTLS
    EmailOptions options = options_for(server.url());
    options.require_tls = true;
    options.user = "bot";
    options.password = "never-in-clear-text";
    asio::io_context io;
    NotifyOutbox box;
    incident::testing::LogCapture logs;
    EmailSink sink(io.get_executor(), box.outbox, options);
    sink.start();
    box.write(sample_event(NotifyKind::declared));
    REQUIRE(run_until(
        io, [&] { return sink.stats().pending == 0; }, milliseconds(10000)));
    const auto failed = box.failed();
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].attempts == 1);  // a missing STARTTLS does not fix itself
    CHECK(sink.stats().retries == 0);
    CHECK(server.messages().empty());
    CHECK(server.output().find("never-in-clear-text") == std::string::npos);
    CHECK(failed[0].error.find("never-in-clear-text") == std::string::npos);
    CHECK_FALSE(logs.contains("never-in-clear-text"));
}

TEST_CASE("email: an unreachable server is retried for the retry window, then kept as failed") {
    EmailOptions options =
        options_for("smtp://127.0.0.1:" + std::to_string(incident::notify::testing::free_port()));
    options.outbox.retry_for = milliseconds(300);
    asio::io_context io;
    NotifyOutbox box;
    EmailSink sink(io.get_executor(), box.outbox, options);
    sink.start();
    box.write(sample_event(NotifyKind::declared));
    box.write(sample_event(NotifyKind::update));  // not an email event: nothing to send
    REQUIRE(run_until(
        io, [&] { return sink.stats().pending == 0; }, milliseconds(10000)));
    const auto failed = box.failed();
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].attempts >= 2);
    CHECK(failed[0].error.find("Couldn't connect") != std::string::npos);
    const EmailStats stats = sink.stats();
    CHECK(stats.retries >= 1);
    CHECK(stats.sent == 0);
    CHECK(stats.skipped == 1);
}

TEST_CASE("email: stop() aborts a transfer that hangs and the entry waits for the next start") {
    SilentServer silent;
    EmailOptions options = options_for(silent.url());
    options.timeout = std::chrono::seconds(60);
    asio::io_context io;
    NotifyOutbox box;
    auto sink = std::make_unique<EmailSink>(io.get_executor(), box.outbox, options);
    sink->start();
    box.write(sample_event(NotifyKind::declared));
    // The SMTP transaction is under way (the entry is claimed) and hangs.
    REQUIRE(run_until(
        io,
        [&] {
            const auto p = box.pending("email");
            return !p.empty() && p[0].claimed_until.has_value();
        },
        milliseconds(5000)));
    const auto started = std::chrono::steady_clock::now();
    sink->stop();
    // Aborted, and settled as "try again" on the executor, not as failed.
    REQUIRE(run_until(
        io,
        [&] {
            const auto p = box.pending("email");
            return !p.empty() && p[0].attempts == 1;
        },
        milliseconds(5000)));
    sink.reset();
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    CHECK(box.failed().empty());
    const auto pending = box.pending("email");
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].error.find("stopped") != std::string::npos);
}
