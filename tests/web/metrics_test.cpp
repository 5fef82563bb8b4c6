#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/web/metrics.hpp"

using namespace incident::web;

namespace {

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    std::string value;
};

struct Exposition {
    std::map<std::string, std::string> help;
    std::map<std::string, std::string> type;
    std::vector<Sample> samples;

    const Sample* find(const std::string& name,
                       const std::map<std::string, std::string>& labels) const {
        for (const auto& s : samples) {
            if (s.name == name && s.labels == labels) return &s;
        }
        return nullptr;
    }
};

// A strict reader of text format 0.0.4: fails the test on any line it does not understand.
Exposition parse(const std::string& text) {
    Exposition out;
    REQUIRE_MESSAGE((!text.empty() && text.back() == '\n'), "the last line must end with \\n");
    std::istringstream in(text);
    std::string line;
    std::string current;  // the family whose TYPE came last
    while (std::getline(in, line)) {
        INFO("line: " << line);
        REQUIRE(!line.empty());
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            const auto space = line.find(' ', 7);
            REQUIRE(space != std::string::npos);
            const std::string name = line.substr(7, space - 7);
            const std::string rest = line.substr(space + 1);
            if (line[2] == 'H') {
                REQUIRE(!out.help.contains(name));
                out.help[name] = rest;
            } else {
                REQUIRE(!out.type.contains(name));
                REQUIRE((rest == "counter" || rest == "gauge" || rest == "histogram"));
                out.type[name] = rest;
                current = name;
            }
            continue;
        }
        REQUIRE(line[0] != '#');
        Sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
        if (line[i] == '{') {
            ++i;
            while (line[i] != '}') {
                std::string label;
                while (line[i] != '=') label += line[i++];
                REQUIRE(line.substr(i, 2) == "=\"");
                i += 2;
                std::string value;
                while (line[i] != '"') {
                    if (line[i] == '\\') {
                        ++i;
                        REQUIRE((line[i] == '\\' || line[i] == '"' || line[i] == 'n'));
                        value += line[i] == 'n' ? '\n' : line[i];
                    } else {
                        value += line[i];
                    }
                    ++i;
                }
                ++i;
                REQUIRE(!s.labels.contains(label));
                s.labels[label] = value;
                if (line[i] == ',') ++i;
            }
            ++i;
        }
        REQUIRE(line[i] == ' ');
        s.value = line.substr(i + 1);
        REQUIRE(s.value.find(' ') == std::string::npos);
        // Every sample belongs to the family announced just before it.
        const bool belongs = s.name == current || s.name == current + "_bucket" ||
                             s.name == current + "_sum" || s.name == current + "_count";
        REQUIRE_MESSAGE(belongs, s.name << " outside its family " << current);
        out.samples.push_back(std::move(s));
    }
    return out;
}

}  // namespace

TEST_CASE("metrics: counters with labels render in text format 0.0.4") {
    Metrics m;
    m.event_received("slack");
    m.event_received("slack");
    m.event_received("mattermost");
    m.reconnect("slack");
    m.api_error("slack", "chat.postMessage");
    m.rate_limited("mattermost", "POST /api/v4/posts");
    const Exposition e = parse(m.render());

    CHECK(e.type.at("incident_bot_events_received_total") == "counter");
    CHECK(e.type.at("incident_bot_events_acked_total") == "counter");
    CHECK(e.type.at("incident_bot_reconnects_total") == "counter");
    CHECK(e.type.at("incident_bot_api_errors_total") == "counter");
    CHECK(e.type.at("incident_bot_rate_limited_total") == "counter");
    CHECK(e.type.at("incident_bot_ack_latency_seconds") == "histogram");
    for (const auto& [name, type] : e.type) CHECK_MESSAGE(e.help.contains(name), name);

    CHECK(e.find("incident_bot_events_received_total", {{"platform", "slack"}})->value == "2");
    CHECK(e.find("incident_bot_events_received_total", {{"platform", "mattermost"}})->value == "1");
    CHECK(e.find("incident_bot_reconnects_total", {{"platform", "slack"}})->value == "1");
    CHECK(e.find("incident_bot_api_errors_total",
                 {{"platform", "slack"}, {"method", "chat.postMessage"}})
              ->value == "1");
    CHECK(e.find("incident_bot_rate_limited_total",
                 {{"platform", "mattermost"}, {"method", "POST /api/v4/posts"}})
              ->value == "1");
    CHECK(m.events_received().value({"slack"}) == 2);
    CHECK(m.events_received().value({"console"}) == 0);
}

TEST_CASE("metrics: the ack latency histogram has cumulative buckets, +Inf, sum and count") {
    Metrics m;
    m.event_acked("slack", 0.0003);
    m.event_acked("slack", 0.004);
    m.event_acked("slack", 0.2);
    m.event_acked("slack", 4.0);  // beyond every bound: only in +Inf
    m.event_acked("slack", -1);   // a clock step backwards counts as instant
    const Exposition e = parse(m.render());

    CHECK(e.find("incident_bot_events_acked_total", {{"platform", "slack"}})->value == "5");
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"0.0005", "2"}, {"0.001", "2"}, {"0.0025", "2"}, {"0.005", "3"}, {"0.01", "3"},
        {"0.025", "3"},  {"0.05", "3"},  {"0.1", "3"},    {"0.25", "4"},  {"0.5", "4"},
        {"1", "4"},      {"2.5", "4"},   {"+Inf", "5"}};
    std::vector<std::string> les;
    for (const auto& s : e.samples) {
        if (s.name == "incident_bot_ack_latency_seconds_bucket") les.push_back(s.labels.at("le"));
    }
    REQUIRE(les.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK(les[i] == expected[i].first);
        const Sample* bucket = e.find("incident_bot_ack_latency_seconds_bucket",
                                      {{"platform", "slack"}, {"le", expected[i].first}});
        REQUIRE(bucket);
        CHECK(bucket->value == expected[i].second);
    }
    CHECK(e.find("incident_bot_ack_latency_seconds_count", {{"platform", "slack"}})->value == "5");
    CHECK(
        std::stod(e.find("incident_bot_ack_latency_seconds_sum", {{"platform", "slack"}})->value) ==
        doctest::Approx(4.2043));
    CHECK(m.ack_latency().count({"slack"}) == 5);
}

TEST_CASE("metrics: label values are escaped") {
    Metrics m;
    m.api_error("slack", "odd \"method\"\\with\nnewline");
    const std::string text = m.render();
    CHECK(text.find(R"(method="odd \"method\"\\with\nnewline")") != std::string::npos);
    const Exposition e = parse(text);
    CHECK(e.find("incident_bot_api_errors_total",
                 {{"platform", "slack"}, {"method", "odd \"method\"\\with\nnewline"}}) != nullptr);
    CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
}

TEST_CASE("metrics: gauges computed at scrape time") {
    Metrics m;
    GaugeFamily open{"incident_bot_open_incidents", "Open incidents.", {"severity"}, {}};
    open.samples.push_back({{"SEV1"}, 2});
    open.samples.push_back({{"SEV2"}, 0});
    const Exposition e = parse(m.render({open}));
    CHECK(e.type.at("incident_bot_open_incidents") == "gauge");
    CHECK(e.find("incident_bot_open_incidents", {{"severity", "SEV1"}})->value == "2");
    CHECK(e.find("incident_bot_open_incidents", {{"severity", "SEV2"}})->value == "0");
}

TEST_CASE("metrics: sample values") {
    CHECK(format_sample_value(0) == "0");
    CHECK(format_sample_value(0.0005) == "0.0005");
    CHECK(format_sample_value(2.5) == "2.5");
    CHECK(format_sample_value(1.0 / 0.0) == "+Inf");
    CHECK(format_sample_value(-1.0 / 0.0) == "-Inf");
    CHECK(format_sample_value(0.0 / 0.0) == "NaN");
}

TEST_CASE("metrics: bad names and label counts are programming errors") {
    CHECK_THROWS_AS(CounterFamily("bad-name", "x", {}), std::invalid_argument);
    CHECK_THROWS_AS(CounterFamily("ok_total", "x", {"le"}), std::invalid_argument);
    CHECK_THROWS_AS(HistogramFamily("h", "x", {}, {1, 0.5}), std::invalid_argument);
    CounterFamily c("ok_total", "x", {"platform"});
    CHECK_THROWS_AS(c.inc({}), std::invalid_argument);
    std::string out;
    c.render(out);
    CHECK(out == "# HELP ok_total x\n# TYPE ok_total counter\n");
}

TEST_CASE("metrics: recording from many threads loses nothing") {
    Metrics m;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&m] {
            for (int i = 0; i < 1000; ++i) {
                m.event_received("slack");
                m.event_acked("slack", 0.001);
            }
        });
    }
    std::thread scraper([&m] {
        for (int i = 0; i < 50; ++i) (void)m.render();
    });
    for (auto& t : threads) t.join();
    scraper.join();
    CHECK(m.events_received().value({"slack"}) == 4000);
    CHECK(m.ack_latency().count({"slack"}) == 4000);
}
