#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace incident::web {

// A counter with labels, e.g. events_received_total{platform="slack"}. Thread-safe.
class CounterFamily {
public:
    CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);

    // One value per label name, in the order given at construction.
    void inc(const std::vector<std::string>& label_values, std::uint64_t by = 1);
    std::uint64_t value(const std::vector<std::string>& label_values) const;
    void render(std::string& out) const;

private:
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::uint64_t> series_;
};

// A histogram with labels and fixed upper bounds (seconds, ascending; +Inf is implied).
class HistogramFamily {
public:
    HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                    std::vector<double> bounds);

    void observe(const std::vector<std::string>& label_values, double value);
    std::uint64_t count(const std::vector<std::string>& label_values) const;
    void render(std::string& out) const;

private:
    struct Series {
        std::vector<std::uint64_t> buckets;  // per bound, not cumulative; last is +Inf
        std::uint64_t count = 0;
        double sum = 0;
    };
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    std::vector<double> bounds_;
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, Series> series_;
};

// A gauge computed by the caller at scrape time (e.g. open incidents from the service).
struct GaugeSample {
    std::vector<std::string> label_values;
    double value = 0;
};
struct GaugeFamily {
    std::string name;
    std::string help;
    std::vector<std::string> label_names;
    std::vector<GaugeSample> samples;
};

// The bot's Prometheus registry. Adapters call the recording functions from any thread;
// /metrics renders text exposition format 0.0.4.
class Metrics {
public:
    Metrics();

    void event_received(std::string_view platform);
    // Counts the ack and records how long the event took from arrival to ack.
    void event_acked(std::string_view platform, double latency_seconds);
    void reconnect(std::string_view platform);
    void api_error(std::string_view platform, std::string_view method);
    void rate_limited(std::string_view platform, std::string_view method);
    void outbox_failed(std::string_view sink, std::string_view kind);

    std::string render(const std::vector<GaugeFamily>& gauges = {}) const;

    const CounterFamily& events_received() const { return events_received_; }
    const CounterFamily& events_acked() const { return events_acked_; }
    const HistogramFamily& ack_latency() const { return ack_latency_; }
    const CounterFamily& reconnects() const { return reconnects_; }
    const CounterFamily& api_errors() const { return api_errors_; }
    const CounterFamily& rate_limited() const { return rate_limited_; }
    const CounterFamily& outbox_failed() const { return outbox_failed_; }

private:
    CounterFamily events_received_;
    CounterFamily events_acked_;
    HistogramFamily ack_latency_;
    CounterFamily reconnects_;
    CounterFamily api_errors_;
    CounterFamily rate_limited_;
    CounterFamily outbox_failed_;
};

// Helpers of the exposition format, shared with the tests.
std::string escape_label_value(std::string_view value);
std::string format_sample_value(double value);
void render_gauge(std::string& out, const GaugeFamily& gauge);

}  // namespace incident::web
