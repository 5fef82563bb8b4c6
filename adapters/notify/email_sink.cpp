#include "adapters/notify/email_sink.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "adapters/notify/email_message.hpp"
#include "adapters/notify/signature.hpp"

namespace incident::notify {

namespace {

void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            spdlog::error("email: libcurl could not be initialised");
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

EmailSink::EmailSink(EmailOptions options)
    : options_(std::move(options)),
      server_(server_of(options_.url)),
      envelope_from_("<" + address_of(options_.from) + ">"),
      domain_(address_of(options_.from).substr(address_of(options_.from).find('@') + 1)) {
    if (options_.max_attempts < 1) options_.max_attempts = 1;
    init_curl_once();
}

EmailSink::~EmailSink() {
    stop();
}

void EmailSink::start() {
    std::lock_guard lock(mutex_);
    if (worker_.joinable() || stopping_) return;
    spdlog::info("email: sending stakeholder mail through {} to {} recipient(s)", server_,
                 options_.to.size());
    worker_ = std::thread([this] { run(); });
}

void EmailSink::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        stopping_ = true;
        abort_ = true;
        if (!queue_.empty()) {
            spdlog::warn("email: stopping with {} message(s) not sent", queue_.size());
        }
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void EmailSink::deliver(const Notify& event) {
    if (!emails_about(event.kind)) return;
    // The same id for the same event: mail clients and archives can spot a duplicate.
    const std::string message_id = delivery_id(event) + "@" + domain_;
    Job job{event.key + " " + std::string(to_string(event.kind)),
            email_message(event, options_.from, options_.to, message_id)};
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        if (queue_.size() >= options_.queue_limit) {
            ++stats_.dropped;
            spdlog::error("email: {} not queued: {} messages are already waiting", job.event,
                          queue_.size());
            return;
        }
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
}

EmailStats EmailSink::stats() const {
    std::lock_guard lock(mutex_);
    EmailStats s = stats_;
    s.pending = queue_.size() + (busy_ ? 1 : 0);
    return s;
}

void EmailSink::run() {
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        Job job = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        net::Backoff backoff(options_.backoff);
        for (unsigned attempt = 1;; ++attempt) {
            lock.unlock();
            const Attempt result = send(job);
            lock.lock();
            if (result.ok) {
                ++stats_.sent;
                spdlog::info("email SMTP: {} sent to {} recipient(s){}", job.event,
                             options_.to.size(),
                             attempt > 1 ? " on attempt " + std::to_string(attempt) : "");
                break;
            }
            if (stopping_) {
                spdlog::warn("email: stopping; {} not sent", job.event);
                break;
            }
            if (!result.transient || attempt >= options_.max_attempts) {
                ++stats_.dropped;
                spdlog::error("email SMTP: gave up on {} after {} attempt(s): {}", job.event,
                              attempt, result.error);
                break;
            }
            ++stats_.retries;
            const auto delay = backoff.next();
            spdlog::warn("email SMTP: {} failed ({}), attempt {} of {}; retrying in {} ms",
                         job.event, result.error, attempt, options_.max_attempts, delay.count());
            if (wake_.wait_for(lock, delay, [this] { return stopping_; })) {
                spdlog::warn("email: stopping; {} not sent", job.event);
                break;
            }
        }
        busy_ = false;
    }
}

EmailSink::Attempt EmailSink::send(const Job& job) const {
    const std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(),
                                                                   curl_easy_cleanup);
    if (!curl) return Attempt{false, true, "libcurl could not create a handle"};
    curl_slist* raw_recipients = nullptr;
    for (const auto& address : options_.to) {
        raw_recipients = curl_slist_append(raw_recipients, ("<" + address + ">").c_str());
    }
    const std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> recipients(
        raw_recipients, curl_slist_free_all);
    Upload upload{job.message};
    char error_buffer[CURL_ERROR_SIZE] = {};

    CURL* h = curl.get();
    curl_easy_setopt(h, CURLOPT_URL, options_.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, envelope_from_.c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(h, CURLOPT_READDATA, &upload);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(job.message.size()));
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     static_cast<long>(options_.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) {
        curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, add_extra_ca);
        curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, &options_.ca_file);
    }
    if (!options_.user.empty()) {
        curl_easy_setopt(h, CURLOPT_USERNAME, options_.user.c_str());
        curl_easy_setopt(h, CURLOPT_PASSWORD, options_.password.c_str());
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // signals and threads do not mix
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_when_stopping);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &abort_);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);

    const CURLcode code = curl_easy_perform(h);
    if (code == CURLE_OK) return Attempt{true, false, {}};
    long reply = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
    std::string error = curl_easy_strerror(code);
    if (error_buffer[0] != '\0') error += std::string(": ") + error_buffer;
    if (reply > 0) error += " (server reply " + std::to_string(reply) + ")";
    error += " [" + server_ + "]";
    // 4xx replies are the server's "try again later"; 5xx ones are final.
    const bool transient = reply >= 400 && reply < 500 ? true
                           : reply >= 500              ? false
                                                       : transient_code(code);
    return Attempt{false, transient, error};
}

}  // namespace incident::notify
