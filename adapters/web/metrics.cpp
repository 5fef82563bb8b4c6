#include "adapters/web/metrics.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace incident::web {

namespace {

bool valid_name(std::string_view name, bool allow_colon) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                           (allow_colon && c == ':');
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

void check_names(const std::string& name, const std::vector<std::string>& label_names) {
    if (!valid_name(name, true)) throw std::invalid_argument("bad metric name: " + name);
    for (const auto& label : label_names) {
        // "le" is reserved for histogram buckets, "__" prefixes for Prometheus itself.
        if (!valid_name(label, false) || label == "le" || label.starts_with("__")) {
            throw std::invalid_argument("bad label name for " + name + ": " + label);
        }
    }
}

void check_arity(const std::string& name, const std::vector<std::string>& names,
                 const std::vector<std::string>& values) {
    if (names.size() != values.size()) {
        throw std::invalid_argument(name + " takes " + std::to_string(names.size()) +
                                    " label values, got " + std::to_string(values.size()));
    }
}

std::string escape_help(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

void header(std::string& out, const std::string& name, const std::string& help,
            std::string_view type) {
    out += "# HELP " + name + " " + escape_help(help) + "\n";
    out += "# TYPE " + name + " ";
    out += type;
    out += "\n";
}

// {a="x",b="y"}, with an optional extra label (le) at the end; empty when there are none.
std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
    if (names.empty() && extra_name.empty()) return "";
    std::string out = "{";
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i) out += ',';
        out += names[i] + "=\"" + escape_label_value(values[i]) + "\"";
    }
    if (!extra_name.empty()) {
        if (!names.empty()) out += ',';
        out += std::string(extra_name) + "=\"" + escape_label_value(extra_value) + "\"";
    }
    return out + "}";
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_sample_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    // Plain decimals ("0.0005", not "5e-04") where they stay short, like other exporters.
    const double magnitude = std::fabs(value);
    const bool fixed = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
    char buf[128];
    const auto [end, error] =
        fixed ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed)
              : std::to_chars(buf, buf + sizeof buf, value);
    if (error != std::errc{}) return "NaN";
    return std::string(buf, end);
}

void render_gauge(std::string& out, const GaugeFamily& gauge) {
    check_names(gauge.name, gauge.label_names);
    header(out, gauge.name, gauge.help, "gauge");
    for (const auto& sample : gauge.samples) {
        check_arity(gauge.name, gauge.label_names, sample.label_values);
        out += gauge.name + label_set(gauge.label_names, sample.label_values) + " " +
               format_sample_value(sample.value) + "\n";
    }
}

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {
    check_names(name_, label_names_);
}

void CounterFamily::inc(const std::vector<std::string>& label_values, std::uint64_t by) {
    check_arity(name_, label_names_, label_values);
    std::lock_guard lock(mutex_);
    series_[label_values] += by;
}

std::uint64_t CounterFamily::value(const std::vector<std::string>& label_values) const {
    std::lock_guard lock(mutex_);
    const auto it = series_.find(label_values);
    return it == series_.end() ? 0 : it->second;
}

void CounterFamily::render(std::string& out) const {
    header(out, name_, help_, "counter");
    std::lock_guard lock(mutex_);
    for (const auto& [values, count] : series_) {
        out += name_ + label_set(label_names_, values) + " " + std::to_string(count) + "\n";
    }
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {
    check_names(name_, label_names_);
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (!std::isfinite(bounds_[i]) || (i && bounds_[i] <= bounds_[i - 1])) {
            throw std::invalid_argument(name_ + ": bucket bounds must be finite and ascending");
        }
    }
}

void HistogramFamily::observe(const std::vector<std::string>& label_values, double value) {
    check_arity(name_, label_names_, label_values);
    if (std::isnan(value)) return;
    std::lock_guard lock(mutex_);
    Series& s = series_[label_values];
    if (s.buckets.empty()) s.buckets.assign(bounds_.size() + 1, 0);
    std::size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i]) ++i;
    ++s.buckets[i];
    ++s.count;
    s.sum += value;
}

std::uint64_t HistogramFamily::count(const std::vector<std::string>& label_values) const {
    std::lock_guard lock(mutex_);
    const auto it = series_.find(label_values);
    return it == series_.end() ? 0 : it->second.count;
}

void HistogramFamily::render(std::string& out) const {
    header(out, name_, help_, "histogram");
    std::lock_guard lock(mutex_);
    for (const auto& [values, s] : series_) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= bounds_.size(); ++i) {
            cumulative += s.buckets[i];
            const std::string le = i < bounds_.size() ? format_sample_value(bounds_[i]) : "+Inf";
            out += name_ + "_bucket" + label_set(label_names_, values, "le", le) + " " +
                   std::to_string(cumulative) + "\n";
        }
        const std::string labels = label_set(label_names_, values);
        out += name_ + "_sum" + labels + " " + format_sample_value(s.sum) + "\n";
        out += name_ + "_count" + labels + " " + std::to_string(s.count) + "\n";
    }
}

Metrics::Metrics()
    : events_received_("incident_bot_events_received_total",
                       "Chat events received from each platform.", {"platform"}),
      events_acked_("incident_bot_events_acked_total",
                    "Chat events acknowledged to each platform after they were stored.",
                    {"platform"}),
      // Slack wants an ack within 3 s: the buckets resolve well below that.
      ack_latency_("incident_bot_ack_latency_seconds",
                   "Time from receiving an event to acknowledging it.", {"platform"},
                   {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}),
      reconnects_("incident_bot_reconnects_total",
                  "Reconnections of each platform's event connection.", {"platform"}),
      api_errors_("incident_bot_api_errors_total",
                  "Failed calls to a platform's API, by API method.", {"platform", "method"}),
      rate_limited_("incident_bot_rate_limited_total",
                    "Platform API calls answered with HTTP 429, by API method.",
                    {"platform", "method"}),
      outbox_failed_("incident_bot_outbox_failed_total",
                     "Effects that failed for good (refused by the platform, or retried for "
                     "too long), by sink and kind.",
                     {"platform", "kind"}) {}

void Metrics::event_received(std::string_view platform) {
    events_received_.inc({std::string(platform)});
}

void Metrics::event_acked(std::string_view platform, double latency_seconds) {
    events_acked_.inc({std::string(platform)});
    ack_latency_.observe({std::string(platform)}, latency_seconds < 0 ? 0 : latency_seconds);
}

void Metrics::reconnect(std::string_view platform) {
    reconnects_.inc({std::string(platform)});
}

void Metrics::api_error(std::string_view platform, std::string_view method) {
    api_errors_.inc({std::string(platform), std::string(method)});
}

void Metrics::rate_limited(std::string_view platform, std::string_view method) {
    rate_limited_.inc({std::string(platform), std::string(method)});
}

void Metrics::outbox_failed(std::string_view sink, std::string_view kind) {
    outbox_failed_.inc({std::string(sink), std::string(kind)});
}

std::string Metrics::render(const std::vector<GaugeFamily>& gauges) const {
    std::string out;
    events_received_.render(out);
    events_acked_.render(out);
    ack_latency_.render(out);
    reconnects_.render(out);
    api_errors_.render(out);
    rate_limited_.render(out);
    outbox_failed_.render(out);
    for (const auto& gauge : gauges) render_gauge(out, gauge);
    return out;
}

}  // namespace incident::web
