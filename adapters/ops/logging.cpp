#include "adapters/ops/logging.hpp"

#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

#include <spdlog/cfg/env.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace incident::ops {

namespace {

// Shorter secrets would shred ordinary words; no token of any platform is this short.
constexpr std::size_t k_min_secret = 6;

std::string iso_time(spdlog::log_clock::time_point at) {
    using namespace std::chrono;
    const auto since = at.time_since_epoch();
    const std::time_t seconds = duration_cast<std::chrono::seconds>(since).count();
    const auto millis = duration_cast<milliseconds>(since).count() % 1000;
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    char text[40];
    const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(millis));
    return text;
}

class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    StderrSink(LogFormat format, std::vector<std::string> secrets)
        : format_(format), secrets_(std::move(secrets)) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        std::string line;
        if (format_ == LogFormat::json) {
            nlohmann::ordered_json object;
            object["ts"] = iso_time(msg.time);
            object["level"] = std::string(spdlog::level::to_string_view(msg.level).data(),
                                          spdlog::level::to_string_view(msg.level).size());
            object["msg"] = redact(std::string(msg.payload.data(), msg.payload.size()), secrets_);
            line = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            line += '\n';
        } else {
            spdlog::memory_buf_t formatted;
            formatter_->format(msg, formatted);
            line = redact(std::string(formatted.data(), formatted.size()), secrets_);
        }
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
    }
    void flush_() override { std::fflush(stderr); }

private:
    LogFormat format_;
    std::vector<std::string> secrets_;
};

}  // namespace

std::string redact(std::string text, const std::vector<std::string>& secrets) {
    for (const auto& secret : secrets) {
        if (secret.size() < k_min_secret) continue;
        for (auto at = text.find(secret); at != std::string::npos;
             at = text.find(secret, at + 10)) {
            text.replace(at, secret.size(), "[redacted]");
        }
    }
    return text;
}

void setup_logging(LogFormat format, std::vector<std::string> secrets, const std::string& level) {
    auto sink = std::make_shared<StderrSink>(format, std::move(secrets));
    sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    auto logger = std::make_shared<spdlog::logger>("incident-bot", std::move(sink));
    logger->set_level(level.empty() ? spdlog::level::info : spdlog::level::from_str(level));
    spdlog::set_default_logger(std::move(logger));
    spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug for details
}

}  // namespace incident::ops
