#include "adapters/web/html.hpp"

#include "bot/text.hpp"

namespace incident::web {

namespace {

constexpr std::string_view k_style = R"css(
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--link:#0969da}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
header{background:#24292f;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
header form{margin:0 0 0 auto}
header .person{margin-left:auto}header .person+form{margin-left:0}
header .replica{margin-left:auto;color:#c9d1d9;font-size:.85rem}
header .replica~.person,header .replica~form{margin-left:0}
main{max-width:72rem;margin:0 auto;padding:1rem}
a{color:var(--link)}
h1{font-size:1.4rem;margin:.2rem 0 .6rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin-top:1.6rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid var(--line);overflow-wrap:break-word}
th{background:var(--soft);white-space:nowrap}
time{white-space:nowrap}
.sev,.state,.tag{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.8rem;white-space:nowrap}
.sev{font-weight:700;color:#fff}
.sev1{background:#b42318}.sev2{background:#d9480f}.sev3{background:#e6a700;color:#1f2328}.sev4{background:#1c6fd1}.sev5{background:#6b7785}
.state,.tag{border:1px solid var(--line);background:var(--soft)}
.s-investigating{background:#fdecea}.s-identified{background:#fff4e5}.s-monitoring{background:#e8f1fd}.s-resolved{background:#e6f4ea}
.muted{color:var(--muted)}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.5rem 0 1rem}
.filters label{display:flex;flex-direction:column;font-size:.85rem}
input,select,button{font:inherit;padding:.3rem .5rem}
.links a{margin-right:1rem}
.timeline{list-style:none;padding:0;margin:0}
.timeline li{border-left:3px solid var(--line);padding:.3rem .7rem;margin:.35rem 0}
.timeline li.key{border-left-color:#d9480f;background:#fff4e5}
.timeline li.deleted .text{text-decoration:line-through;color:var(--muted)}
.timeline li.reply{margin-left:1.2rem}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.6rem}
.card{border:1px solid var(--line);border-radius:.4rem;padding:.5rem .7rem}
.card b{display:block;font-size:1.3rem}
.overdue{color:#b42318;font-weight:600}
svg{max-width:100%;height:auto}
.md{overflow-x:auto}
.md table{width:auto}
.md td{white-space:pre-line}
.md h3{font-size:1rem}
.md thead:not(:has(th:not(:empty))){display:none}
.error{border:1px solid #b42318;background:#fdecea;padding:.6rem .8rem;border-radius:.4rem}
@media (max-width:640px){
table.list thead{display:none}
table.list tr{display:block;border:1px solid var(--line);border-radius:.4rem;margin:.5rem 0;padding:.3rem}
table.list td{display:block;border:0;padding:.15rem .4rem}
table.list td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-size:.85rem}
dl.facts{grid-template-columns:1fr}
dl.facts dd{margin-bottom:.3rem}
.md table{display:block;overflow-x:auto}
.md td:first-child{white-space:nowrap}
}
)css";

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string_view severity_colour(Severity severity) {
    switch (severity) {
        case Severity::sev1:
            return "#b42318";
        case Severity::sev2:
            return "#d9480f";
        case Severity::sev3:
            return "#e6a700";
        case Severity::sev4:
            return "#1c6fd1";
        case Severity::sev5:
            return "#6b7785";
    }
    return "#6b7785";
}

std::string severity_badge(Severity severity) {
    const std::string name(to_string(severity));
    return "<span class=\"sev sev" + std::to_string(static_cast<int>(severity)) + "\" title=\"" +
           std::string(describe(severity)) + "\">" + name + "</span>";
}

std::string state_badge(State state) {
    const std::string name(to_string(state));
    return "<span class=\"state s-" + name + "\">" + name + "</span>";
}

std::string time_html(Timestamp at) {
    const std::string t = format_time(at);
    return "<time datetime=\"" + t + "\">" + t + "</time>";
}

std::string page(std::string_view title, std::string_view body_html, const Chrome& chrome) {
    std::string out;
    out.reserve(body_html.size() + k_style.size() + 1024);
    out +=
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>";
    out += html_escape(title);
    out += " · incident-bot</title><style>";
    out += k_style;
    out +=
        "</style></head><body><header><a href=\"/\">incident-bot</a>"
        "<a href=\"/\">Incidents</a><a href=\"/postmortems\">Post-mortems</a>"
        "<a href=\"/stats\">Stats</a><a href=\"/outbox\">Outbox</a>";
    if (!chrome.replica.empty()) {
        out += "<span class=\"replica\">" + html_escape(chrome.replica) + "</span>";
    }
    if (!chrome.person.empty()) {
        out += "<span class=\"person\">Signed in as " + html_escape(chrome.person) + "</span>";
    }
    if (chrome.logout || !chrome.person.empty()) {
        out +=
            "<form method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button>"
            "</form>";
    }
    out += "</header><main>\n";
    out += body_html;
    out += "\n</main></body></html>\n";
    return out;
}

}  // namespace incident::web
