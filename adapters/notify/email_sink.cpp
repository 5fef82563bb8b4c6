#include "adapters/notify/email_sink.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/notify/email_message.hpp"
#include "adapters/notify/redact.hpp"
#include "adapters/notify/signature.hpp"
#include "bot/shared_library.hpp"

namespace incident::notify {

namespace {

// libcurl, opened with the first email sink (bot/shared_library.hpp): a bot that sends no
// mail does not load it nor its dozen libraries (GnuTLS, Kerberos, LDAP, SSH, RTMP).
struct Libcurl {
    SharedLibrary library{"libcurl.so.4"};
    INCIDENT_LIBRARY_FUNCTION(library, curl_easy_cleanup);
    INCIDENT_LIBRARY_FUNCTION(library, curl_easy_getinfo);
    INCIDENT_LIBRARY_FUNCTION(library, curl_easy_init);
    INCIDENT_LIBRARY_FUNCTION(library, curl_easy_perform);
    INCIDENT_LIBRARY_FUNCTION(library, curl_easy_setopt);
    INCIDENT_LIBRARY_FUNCTION(library, curl_easy_strerror);
    INCIDENT_LIBRARY_FUNCTION(library, curl_global_init);
    INCIDENT_LIBRARY_FUNCTION(library, curl_slist_append);
    INCIDENT_LIBRARY_FUNCTION(library, curl_slist_free_all);
    INCIDENT_LIBRARY_FUNCTION(library, curl_version);
};

// Loaded once; a failure throws, and the next call tries again.
const Libcurl& libcurl() {
    static const Libcurl loaded;
    return loaded;
}

void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        try {
            if (libcurl().curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                spdlog::error("email: libcurl could not be initialised");
            }
        } catch (const std::exception& e) {
            spdlog::error("email: {}", e.what());
        }
    });
}

struct Upload {
    const std::string& data;
    std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* upload = static_cast<Upload*>(user);
    const std::size_t room = size * count;
    const std::size_t left = upload->data.size() - upload->offset;
    const std::size_t n = std::min(room, left);
    std::memcpy(buffer, upload->data.data() + upload->offset, n);
    upload->offset += n;
    return n;
}

// Adds the extra CA bundle to the store libcurl filled from the system CAs; CURLOPT_CAINFO
// would replace those instead.
CURLcode add_extra_ca(CURL*, void* ssl_ctx, void* user) {
    const auto* file = static_cast<const std::string*>(user);
    X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
    return X509_STORE_load_file(store, file->c_str()) == 1 ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

// Keeps the server's last refusal ("550 5.1.1 <x@example.com>: unknown user", a 4xx or 5xx
// reply line): libcurl's own error names only the code, and the QUIT after it is answered
// "221 Bye". Only what the server sent: the AUTH line is never seen here.
int keep_server_refusal(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
    if (type != CURLINFO_HEADER_IN || size == 0 || (data[0] != '4' && data[0] != '5')) return 0;
    std::string line(data, size);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    *static_cast<std::string*>(user) = std::move(line);
    return 0;
}

int abort_when_stopping(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<const std::atomic<bool>*>(user)->load() ? 1 : 0;
}

// Connection-level failures that a later attempt may not meet.
bool transient_code(CURLcode code) {
    switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_WEIRD_SERVER_REPLY:
            return true;
        default:
            return false;
    }
}

// smtp://user@host:port/x -> smtp://host:port: nothing of the URL but where it points.
std::string server_of(const std::string& url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return "(invalid SMTP URL)";
    std::string rest = url.substr(scheme_end + 3);
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (const auto at = rest.rfind('@'); at != std::string::npos) rest.erase(0, at + 1);
    return url.substr(0, scheme_end + 3) + rest;
}

}  // namespace

EmailSink::EmailSink(boost::asio::any_io_executor executor, Outbox& outbox, EmailOptions options,
                     net::PlatformObserver* observer)
    : options_(std::move(options)),
      outbox_(outbox),
      server_(server_of(options_.url)),
      envelope_from_("<" + address_of(options_.from) + ">"),
      domain_(address_of(options_.from).substr(address_of(options_.from).find('@') + 1)),
      sender_(std::make_unique<boost::asio::thread_pool>(1)),
      worker_(
          executor, outbox, std::string(k_sink),
          [this](OutboxEntry& entry) { return deliver_entry(entry); }, options_.outbox, observer) {
    init_curl_once();
    waker_ = outbox_.add_notify_sink(std::string(k_sink), [this] { worker_.wake(); });
}

EmailSink::~EmailSink() {
    *alive_ = false;
    outbox_.forget_waker(k_sink, waker_);
    stop();
    // Waits for the transaction in flight, which the abort ends within about a second.
    sender_->join();
}

void EmailSink::start() {
    if (abort_) return;
    spdlog::info("email: sending stakeholder mail through {} to {} recipient(s)", server_,
                 options_.to.size());
    worker_.start();
}

void EmailSink::stop() {
    abort_ = true;
    worker_.stop();
}

boost::asio::awaitable<void> EmailSink::drain(std::chrono::steady_clock::time_point deadline) {
    co_await worker_.drain(deadline);
}

EmailStats EmailSink::stats() const {
    EmailStats s = stats_;
    s.pending = worker_.pending();
    return s;
}

boost::asio::awaitable<net::Delivery> EmailSink::deliver_entry(OutboxEntry& entry) {
    const auto effect = effect_from_json(entry.payload);
    const Notify* event = effect ? std::get_if<Notify>(&*effect) : nullptr;
    if (!event) co_return net::Delivery::fail("this incident-bot cannot read the stored event");
    if (!emails_about(event->kind)) {
        ++stats_.skipped;
        co_return net::Delivery::done();  // stakeholders get no email for this one
    }
    const std::string what = event->key + " " + std::string(to_string(event->kind));
    // The same id for the same event: mail clients and archives can spot a duplicate.
    const std::string message_id = delivery_id(*event) + "@" + domain_;
    std::string message = email_message(*event, options_.from, options_.to, message_id);

    const auto alive = alive_;
    // On the sender's thread; the coroutine resumes on the executor with the outcome.
    // (Named, not temporaries of the co_await: GCC 12 mishandles those in coroutines.)
    auto transaction = [this, message = std::move(message)]() -> boost::asio::awaitable<Attempt> {
        co_return send(message);
    };
    const Attempt attempt = co_await boost::asio::co_spawn(
        sender_->get_executor(), std::move(transaction), boost::asio::use_awaitable);
    if (!*alive || (abort_ && !attempt.ok)) {
        co_return net::Delivery::retry("stopped before the message was sent");
    }
    if (attempt.ok) {
        ++stats_.sent;
        std::string retried;
        if (entry.attempts > 0) retried = " on attempt " + std::to_string(entry.attempts + 1);
        spdlog::info("email SMTP: {} sent to {} recipient(s){}", what, options_.to.size(), retried);
        co_return net::Delivery::done();
    }
    if (attempt.transient) {
        ++stats_.retries;
        co_return net::Delivery::retry(attempt.error);
    }
    ++stats_.failed;  // logged once by the worker, with the error
    co_return net::Delivery::fail(attempt.error);
}

EmailSink::Attempt EmailSink::send(const std::string& message) const {
    const Libcurl* lib = nullptr;
    try {
        lib = &libcurl();
    } catch (const std::exception& e) {
        return Attempt{false, false, e.what()};
    }
    const std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(lib->curl_easy_init(),
                                                                   lib->curl_easy_cleanup);
    if (!curl) return Attempt{false, true, "libcurl could not create a handle"};
    curl_slist* raw_recipients = nullptr;
    for (const auto& address : options_.to) {
        raw_recipients = lib->curl_slist_append(raw_recipients, ("<" + address + ">").c_str());
    }
    const std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> recipients(
        raw_recipients, lib->curl_slist_free_all);
    Upload upload{message};
    char error_buffer[CURL_ERROR_SIZE] = {};

    CURL* h = curl.get();
    lib->curl_easy_setopt(h, CURLOPT_URL, options_.url.c_str());
    lib->curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    lib->curl_easy_setopt(h, CURLOPT_MAIL_FROM, envelope_from_.c_str());
    lib->curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
    lib->curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
    lib->curl_easy_setopt(h, CURLOPT_READDATA, &upload);
    lib->curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    lib->curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
    lib->curl_easy_setopt(
        h, CURLOPT_USE_SSL,
        static_cast<long>(options_.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    lib->curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    lib->curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) {
        lib->curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, add_extra_ca);
        lib->curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, &options_.ca_file);
    }
    if (!options_.user.empty()) {
        lib->curl_easy_setopt(h, CURLOPT_USERNAME, options_.user.c_str());
        lib->curl_easy_setopt(h, CURLOPT_PASSWORD, options_.password.c_str());
    }
    lib->curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    lib->curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                          static_cast<long>(options_.timeout.count()));
    lib->curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // signals and threads do not mix
    lib->curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    lib->curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_when_stopping);
    lib->curl_easy_setopt(h, CURLOPT_XFERINFODATA, &abort_);
    lib->curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    std::string refusal;
    lib->curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, keep_server_refusal);
    lib->curl_easy_setopt(h, CURLOPT_DEBUGDATA, &refusal);
    lib->curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);  // what calls keep_server_refusal

    const CURLcode code = lib->curl_easy_perform(h);
    if (code == CURLE_OK) return Attempt{true, false, {}};
    long reply = 0;
    lib->curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
    std::string error = lib->curl_easy_strerror(code);
    if (error_buffer[0] != '\0') error += std::string(": ") + error_buffer;
    if (!refusal.empty()) {
        error += " (server reply: " + refusal + ")";
    } else if (reply > 0) {
        error += " (server reply " + std::to_string(reply) + ")";
    }
    error = server_words(error, {options_.password, options_.url}) + " [" + server_ + "]";
    // 4xx replies are the server's "try again later"; 5xx ones are final.
    const bool transient = reply >= 400 && reply < 500 ? true
                           : reply >= 500              ? false
                                                       : transient_code(code);
    return Attempt{false, transient, error};
}

std::string curl_library_version() {
    // "libcurl/7.88.1 OpenSSL/3.0.15 zlib/1.2.13 ...": the first word is libcurl's own.
    const std::string all = libcurl().curl_version();
    return all.substr(0, all.find(' '));
}

}  // namespace incident::notify
