#include "adapters/web/charts.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>

#include "adapters/web/html.hpp"
#include "bot/text.hpp"

namespace incident::web {

namespace {

constexpr Timestamp k_day_ms = 86'400'000;
constexpr Timestamp k_week_ms = 7 * k_day_ms;
constexpr std::string_view k_font = "font-family=\"system-ui,sans-serif\" font-size=\"11\"";

Severity effective(const Incident& inc) {
    return inc.final_severity.value_or(inc.severity);
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

std::string text(double x, double y, std::string_view anchor, std::string_view content,
                 std::string_view fill = "#59636e") {
    return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + std::string(anchor) +
           "\" fill=\"" + std::string(fill) + "\" " + std::string(k_font) + ">" +
           html_escape(content) + "</text>";
}

std::string rect(double x, double y, double w, double h, std::string_view fill) {
    return "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" +
           num(h) + "\" fill=\"" + std::string(fill) + "\"/>";
}

std::string svg_open(int width, int height, std::string_view label) {
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + std::to_string(width) +
           " " + std::to_string(height) + "\" width=\"" + std::to_string(width) + "\" height=\"" +
           std::to_string(height) + "\" role=\"img\" aria-label=\"" + html_escape(label) + "\">";
}

// An axis maximum that is a multiple of a round step, with at most five steps.
std::pair<int, int> count_axis(int max_value) {
    int step = 1;
    for (const int s : {1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000}) {
        step = s;
        if (max_value <= s * 5) break;
    }
    const int top = std::max(step, (max_value + step - 1) / step * step);
    return {top, step};
}

}  // namespace

std::string IsoWeek::label() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-W%02d", year, week);
    return buf;
}

IsoWeek iso_week(Timestamp at) {
    using namespace std::chrono;
    const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(at)));
    const unsigned iso_weekday = weekday(day).iso_encoding();  // Monday 1 ... Sunday 7
    const sys_days monday = day - days(iso_weekday - 1);
    // The ISO year is the year of the week's Thursday.
    const sys_days thursday = monday + days(3);
    const year iso_year = year_month_day(thursday).year();
    const sys_days first_thursday_week_monday = [&] {
        const sys_days jan4 = sys_days(iso_year / January / 4);
        return jan4 - days(weekday(jan4).iso_encoding() - 1);
    }();
    IsoWeek out;
    out.year = int(iso_year);
    out.week = int((monday - first_thursday_week_monday).count() / 7) + 1;
    out.monday = duration_cast<milliseconds>(monday.time_since_epoch()).count();
    return out;
}

std::string weekly_severity_chart(const std::vector<Incident>& incidents, Timestamp now,
                                  int weeks) {
    weeks = std::clamp(weeks, 1, 520);
    const Timestamp first_monday = iso_week(now).monday - Timestamp(weeks - 1) * k_week_ms;
    std::vector<std::array<int, 5>> counts(weeks, std::array<int, 5>{});
    for (const auto& inc : incidents) {
        if (inc.state == State::merged || inc.declared_at < first_monday) continue;
        const auto index = static_cast<std::size_t>((inc.declared_at - first_monday) / k_week_ms);
        if (index >= counts.size()) continue;
        ++counts[index][static_cast<int>(effective(inc)) - 1];
    }
    int max_total = 0;
    for (const auto& week : counts) {
        int total = 0;
        for (const int c : week) total += c;
        max_total = std::max(max_total, total);
    }
    const auto [top, step] = count_axis(max_total);

    const int width = 640, height = 260;
    const double left = 34, right = 8, plot_top = 30, bottom = 36;
    const double plot_w = width - left - right, plot_h = height - plot_top - bottom;
    const double slot = plot_w / weeks;
    const double bar_w = std::max(1.0, slot * 0.7);
    const int label_every = weeks <= 14 ? 1 : (weeks + 12) / 13;

    std::string svg = svg_open(width, height, "Incidents per ISO week, stacked by severity");
    // Legend.
    for (int s = 1; s <= 5; ++s) {
        const double x = left + (s - 1) * 62;
        svg += rect(x, 8, 10, 10, severity_colour(static_cast<Severity>(s)));
        svg += text(x + 14, 17, "start", "SEV" + std::to_string(s), "#1f2328");
    }
    // Grid and y-axis labels.
    for (int v = 0; v <= top; v += step) {
        const double y = plot_top + plot_h - plot_h * v / top;
        svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(width - right) +
               "\" y2=\"" + num(y) + "\" stroke=\"#d1d9e0\"/>";
        svg += text(left - 5, y + 4, "end", std::to_string(v));
    }
    for (int w = 0; w < weeks; ++w) {
        const IsoWeek week = iso_week(first_monday + Timestamp(w) * k_week_ms);
        const double x = left + slot * w + (slot - bar_w) / 2;
        int total = 0;
        std::string detail;
        for (int s = 0; s < 5; ++s) {
            total += counts[w][s];
            if (counts[w][s]) {
                detail += (detail.empty() ? " (" : ", ") + std::string("SEV") +
                          std::to_string(s + 1) + ": " + std::to_string(counts[w][s]);
            }
        }
        if (!detail.empty()) detail += ")";
        svg += "<g><title>" +
               html_escape(week.label() + " (from " + format_time(week.monday).substr(0, 10) +
                           "): " + std::to_string(total) +
                           (total == 1 ? " incident" : " incidents") + detail) +
               "</title>";
        double y = plot_top + plot_h;
        for (int s = 0; s < 5; ++s) {
            if (!counts[w][s]) continue;
            const double h = plot_h * counts[w][s] / top;
            y -= h;
            svg += rect(x, y, bar_w, h, severity_colour(static_cast<Severity>(s + 1)));
        }
        // A transparent full-height target keeps the tooltip reachable on empty weeks.
        svg += "<rect x=\"" + num(left + slot * w) + "\" y=\"" + num(plot_top) + "\" width=\"" +
               num(slot) + "\" height=\"" + num(plot_h) + "\" fill=\"transparent\"/></g>";
        if (w % label_every == 0 || w == weeks - 1) {
            svg += text(left + slot * w + slot / 2, height - bottom + 14, "middle",
                        "W" + std::to_string(week.week));
        }
    }
    svg += text(left + plot_w / 2, height - 6, "middle",
                iso_week(first_monday).label() + " – " + iso_week(now).label());
    svg += "</svg>";
    return svg;
}

std::string resolve_time_chart(const std::vector<Incident>& incidents, std::size_t max_bars) {
    std::vector<const Incident*> resolved;
    for (const auto& inc : incidents) {
        if (inc.state != State::merged && inc.resolved_at) resolved.push_back(&inc);
    }
    std::sort(resolved.begin(), resolved.end(), [](const Incident* a, const Incident* b) {
        return a->declared_at != b->declared_at ? a->declared_at > b->declared_at
                                                : a->number > b->number;
    });
    if (resolved.size() > max_bars) resolved.resize(max_bars);

    const int row = 24, width = 640;
    const double label_w = 72, value_w = 78, top = 6;
    const int height = static_cast<int>(top * 2) +
                       row * static_cast<int>(std::max<std::size_t>(resolved.size(), 1));
    Timestamp longest = 1;
    for (const Incident* inc : resolved) {
        longest = std::max(longest, *inc->resolved_at - inc->declared_at);
    }
    const double bar_area = width - label_w - value_w;

    std::string svg = svg_open(width, height, "Time to resolve per incident");
    if (resolved.empty()) {
        svg += text(width / 2.0, top + 16, "middle", "No resolved incidents in this period.");
    }
    for (std::size_t i = 0; i < resolved.size(); ++i) {
        const Incident& inc = *resolved[i];
        const Timestamp took = std::max<Timestamp>(0, *inc.resolved_at - inc.declared_at);
        const double y = top + row * static_cast<double>(i);
        const double w = std::max(2.0, bar_area * static_cast<double>(took) / longest);
        const std::string duration = format_duration(inc.declared_at, *inc.resolved_at);
        svg += "<a href=\"/incidents/" + inc.key() + "\"><title>" +
               html_escape(inc.key() + ": " + inc.title + " (" +
                           std::string(to_string(effective(inc))) + ") resolved in " + duration) +
               "</title>";
        svg += text(label_w - 6, y + 16, "end", inc.key(), "#0969da");
        svg += rect(label_w, y + 4, w, row - 8, severity_colour(effective(inc)));
        svg += text(label_w + w + 5, y + 16, "start", duration, "#1f2328");
        svg += "</a>";
    }
    svg += "</svg>";
    return svg;
}

}  // namespace incident::web
