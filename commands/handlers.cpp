#include <algorithm>

#include "bot/people.hpp"
#include "bot/text.hpp"
#include "commands/router.hpp"

namespace incident::commands {

namespace {

using Visibility = Reply::Visibility;

Reply to_channel(std::string text) {
    return Reply{true, Visibility::in_channel, std::move(text)};
}
Reply to_caller(std::string text) {
    return Reply{true, Visibility::ephemeral, std::move(text)};
}

[[noreturn]] void usage_error(const std::string& problem, const std::string& usage) {
    throw DomainError(problem + " Usage: `" + usage + "`.");
}

Severity severity_arg(std::string_view word, const std::string& usage) {
    const auto sev = parse_severity(word);
    if (!sev) {
        usage_error("`" + std::string(word) +
                        "` is not a severity: use 1 to 5 (SEV1 critical … SEV5 cosmetic).",
                    usage);
    }
    return *sev;
}

std::string action_line(const ActionItem& a) {
    std::string line = std::to_string(a.number) + ". " +
                       (a.kind == ActionKind::preventive ? "(preventive) " : "") +
                       (a.status == ActionStatus::done        ? "[x] "
                        : a.status == ActionStatus::cancelled ? "[withdrawn] "
                                                              : "[ ] ") +
                       a.text;
    if (!a.owner.empty() && a.text.find(a.owner) == std::string::npos) line += " — " + a.owner;
    if (a.due) line += " (due " + *a.due + ")";
    return line;
}

std::string incident_line(const Incident& inc) {
    std::string line = inc.key() + " " + std::string(to_string(inc.severity)) + " " +
                       std::string(to_string(inc.state)) + " — " + inc.title;
    if (!inc.channel_name.empty()) line += " (#" + inc.channel_name + ")";
    if (inc.merged_into) line += " → " + incident_key(*inc.merged_into);
    return line;
}

// Leading "sevN" words set severities in declare and resolve.
std::optional<Severity> take_severity(Args& args) {
    if (args.empty()) return std::nullopt;
    const std::string first = to_lower(args[0]);
    if (!first.starts_with("sev")) return std::nullopt;
    const auto sev = parse_severity(first);
    if (!sev) {
        throw DomainError("`" + std::string(args[0]) +
                          "` is not a severity: use sev1 (critical) to sev5 (cosmetic).");
    }
    args = args.shifted();
    return sev;
}

Reply declare(CommandContext& ctx) {
    Args args = ctx.args;
    const Severity severity = take_severity(args).value_or(Severity::sev3);
    if (args.empty())
        usage_error("An incident needs a title.", "/incident declare [sev1-5] <title>");
    const std::string title(args.rest(0));
    // Two declares of the same title by the same person a moment apart are one incident.
    for (const auto& open : ctx.service.list(false)) {
        if (open.is_open() && open.declared_by.id == ctx.caller().id &&
            open.platform == ctx.request.platform && open.title == trim(title) &&
            ctx.at() - open.declared_at < 120'000) {
            return to_caller("You already declared " + open.key() + " (" + open.title +
                             ") a moment ago; nothing new was created. Its channel is #" +
                             open.channel_name + ".");
        }
    }
    const Incident inc =
        ctx.service.declare(ctx.caller(), severity, title, ctx.request.platform, ctx.at());
    return to_channel("🚨 " + inc.key() + " declared (" + std::string(to_string(severity)) + ", " +
                      std::string(describe(severity)) + "): " + inc.title + "\nChannel: #" +
                      inc.channel_name + " · Commander: " + mention(ctx.caller()) +
                      "\nNext: `/incident status identified` when the cause is known, "
                      "`/incident update <text>` to inform stakeholders.");
}

Reply status(CommandContext& ctx) {
    const std::string usage = "/incident status investigating|identified|monitoring|resolved";
    if (ctx.args.empty()) usage_error("Which state?", usage);
    const auto state = parse_state(ctx.args[0]);
    if (!state || *state == State::merged || *state == State::closed) {
        usage_error("`" + std::string(ctx.args[0]) + "` is not a state you can set here.", usage);
    }
    ctx.service.change_state(ctx.target(), *state, ctx.caller(), ctx.at());
    return to_channel(ctx.target().key() + " is now *" + std::string(to_string(*state)) + "*.");
}

Reply sev(CommandContext& ctx) {
    if (ctx.args.empty()) usage_error("Which severity?", "/incident sev <1-5>");
    const Severity severity = severity_arg(ctx.args[0], "/incident sev <1-5>");
    Incident& inc = ctx.target();
    const bool final = inc.state == State::resolved;
    ctx.service.change_severity(inc, severity, ctx.caller(), ctx.at());
    return to_channel(inc.key() + (final ? " final severity: " : " severity is now ") +
                      std::string(to_string(severity)) + " (" + std::string(describe(severity)) +
                      ").");
}

Reply role(CommandContext& ctx) {
    const std::string usage = "/incident role commander|scribe|comms|liaison|sme [@user]";
    if (ctx.args.empty()) usage_error("Which role?", usage);
    const auto role = parse_role(ctx.args[0]);
    if (!role) usage_error("`" + std::string(ctx.args[0]) + "` is not a role.", usage);
    Actor person = ctx.caller();
    if (ctx.args.size() > 1) {
        const auto mention = parse_mention(ctx.args[1]);
        if (!mention) usage_error("`" + std::string(ctx.args[1]) + "` is not a @user.", usage);
        person = *mention;
    }
    ctx.service.assign_role(ctx.target(), *role, person, ctx.caller(), ctx.at());
    return to_channel(mention(person) + " is now " + std::string(to_string(*role)) + " of " +
                      ctx.target().key() + ".");
}

Reply update(CommandContext& ctx) {
    if (ctx.args.empty()) usage_error("Say what changed.", "/incident update <text>");
    ctx.service.post_update(ctx.target(), std::string(ctx.args.rest(0)), ctx.caller(), ctx.at());
    return to_channel("📣 Update on " + ctx.target().key() +
                      " sent to stakeholders: " + std::string(ctx.args.rest(0)));
}

Reply note(CommandContext& ctx) {
    if (ctx.args.empty()) usage_error("A note needs text.", "/incident note <text>");
    ctx.service.add_note(ctx.target(), std::string(ctx.args.rest(0)), ctx.caller(), ctx.at());
    return to_caller("Noted on the " + ctx.target().key() + " timeline as a key event.");
}

Reply todo(CommandContext& ctx) {
    const std::string usage = "/incident todo <text> [@owner] [due:YYYY-MM-DD]";
    if (ctx.args.empty()) usage_error("Say what needs doing.", usage);
    const TodoParse parsed = parse_todo_body(ctx.args.rest(0));
    if (!parsed.spec) usage_error(parsed.error, usage);
    const ActionItem item = ctx.service.add_action(ctx.target(), *parsed.spec, ctx.caller(),
                                                   ActionSource::command, {}, ctx.at());
    return to_channel("Action item " + std::to_string(item.number) + " added to " +
                      ctx.target().key() + ": " + action_line(item));
}

Reply todos(CommandContext& ctx) {
    const auto items = ctx.service.actions(ctx.target().number);
    if (items.empty()) {
        return to_caller(ctx.target().key() +
                         " has no action items yet. Write a line starting with TODO in the "
                         "channel, or use `/incident todo <text>`.");
    }
    std::string text = "Action items of " + ctx.target().key() + ":";
    for (const auto& item : items) text += "\n" + action_line(item);
    return to_caller(text);
}

std::string factor_line(const ContributingFactor& f) {
    return "[" + std::string(to_string(f.category)) + "] " + f.text + " — " + mention(f.author);
}

Reply factor(CommandContext& ctx) {
    const std::string usage = "/incident factor technical|process|monitoring <text>";
    if (ctx.args.empty()) usage_error("Which category, and what was it?", usage);
    const auto category = parse_factor_category(ctx.args[0]);
    if (!category) {
        usage_error("`" + std::string(ctx.args[0]) +
                        "` is not a category: technical (failures), process (gaps) or "
                        "monitoring (and alerting).",
                    usage);
    }
    if (ctx.args.size() < 2) usage_error("Describe the factor.", usage);
    const ContributingFactor f = ctx.service.add_factor(
        ctx.target(), *category, std::string(ctx.args.rest(1)), ctx.caller(), ctx.at());
    return to_channel("Contributing factor recorded for " + ctx.target().key() + " (" +
                      to_lower(describe(f.category)) + "): " + f.text);
}

Reply factors(CommandContext& ctx) {
    const auto list = ctx.service.factors(ctx.target().number);
    if (list.empty()) {
        return to_caller(ctx.target().key() +
                         " has no contributing factors yet: `/incident factor "
                         "technical|process|monitoring <text>` records one for the "
                         "post-mortem.");
    }
    std::string text = "Contributing factors of " + ctx.target().key() + ":";
    for (const auto& f : list) text += "\n" + factor_line(f);
    return to_caller(text);
}

// The confirmation of a section write, in the channel: what the draft shows now.
Reply section_written(CommandContext& ctx, std::string_view what, const SectionRevision& r) {
    std::string text = "📝 " + std::string(what) + " of " + ctx.target().key() + " recorded";
    if (is_list_section(r.section)) {
        const auto items = ctx.service.sections(ctx.target().number).list(r.section);
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (items[i].item == r.item) text += " as number " + std::to_string(i + 1);
        }
    }
    text += " by " + mention(r.author) + ": " + r.text;
    return to_channel(text);
}

Reply summary(CommandContext& ctx) {
    const auto r =
        ctx.service.write_section(ctx.target(), Section::summary, std::string(ctx.args.rest(0)),
                                  std::nullopt, ctx.caller(), ctx.at());
    return section_written(ctx, "Summary", r);
}

// A keyword picks the section: `impact customers <text>`, `lesson well <text>`.
struct SectionWord {
    std::string_view word;
    Section section;
    std::string_view label;  // for the confirmation
};

Reply keyed_section(CommandContext& ctx, const std::string& usage,
                    std::initializer_list<SectionWord> words, const std::string& what) {
    if (ctx.args.empty()) usage_error("Which " + what + ", and what was it?", usage);
    const std::string word = to_lower(ctx.args[0]);
    std::string known;
    for (const auto& w : words) {
        known += (known.empty() ? "" : ", ") + std::string(w.word);
        if (w.word != word) continue;
        const auto r =
            ctx.service.write_section(ctx.target(), w.section, std::string(ctx.args.rest(1)),
                                      std::nullopt, ctx.caller(), ctx.at());
        return section_written(ctx, w.label, r);
    }
    usage_error("`" + std::string(ctx.args[0]) + "` is not a " + what + ": use " + known + ".",
                usage);
}

Reply impact(CommandContext& ctx) {
    return keyed_section(ctx, "/incident impact customers|internal|availability <text>",
                         {{"customers", Section::impact_customers, "Impact on customers"},
                          {"internal", Section::impact_internal, "Impact on internal operations"},
                          {"availability", Section::impact_availability, "Impact on availability"}},
                         "part of the impact");
}

Reply lesson(CommandContext& ctx) {
    return keyed_section(ctx, "/incident lesson well|wrong|lucky <text>",
                         {{"well", Section::lesson_well, "Lesson (what went well)"},
                          {"wrong", Section::lesson_wrong, "Lesson (what went wrong)"},
                          {"lucky", Section::lesson_lucky, "Lesson (where we got lucky)"}},
                         "kind of lesson");
}

Reply why(CommandContext& ctx) {
    std::optional<int> replace;
    std::size_t from = 0;
    if (!ctx.args.empty()) {
        const std::string_view word = ctx.args[0];
        // A leading number names the why to replace; 0 or one too large names none.
        const bool digits =
            std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (const auto n = parse_positive_int(word)) {
            replace = n;
            from = 1;
        } else if (digits && word.find_first_not_of('0') == std::string_view::npos) {
            replace = 0;
            from = 1;
        } else if (digits) {
            usage_error("`" + std::string(word.substr(0, 20)) + "` is not the number of a why.",
                        "/incident why [n] <text>");
        }
    }
    const auto r =
        ctx.service.write_section(ctx.target(), Section::why, std::string(ctx.args.rest(from)),
                                  replace, ctx.caller(), ctx.at());
    return section_written(ctx, replace ? "Why (replaced)" : "Why", r);
}

Reply rootcause(CommandContext& ctx) {
    const auto r =
        ctx.service.write_section(ctx.target(), Section::root_cause, std::string(ctx.args.rest(0)),
                                  std::nullopt, ctx.caller(), ctx.at());
    return section_written(ctx, "Root cause", r);
}

Reply service_(CommandContext& ctx) {
    const auto r =
        ctx.service.write_section(ctx.target(), Section::service, std::string(ctx.args.rest(0)),
                                  std::nullopt, ctx.caller(), ctx.at());
    return section_written(ctx, "Affected service", r);
}

Reply prevent(CommandContext& ctx) {
    const std::string usage = "/incident prevent <text> [@owner] [due:YYYY-MM-DD]";
    if (ctx.args.empty()) usage_error("Say what would prevent the next one.", usage);
    const TodoParse parsed = parse_todo_body(ctx.args.rest(0));
    if (!parsed.spec) usage_error(parsed.error, usage);
    const Incident& inc = ctx.target();
    const ActionItem item =
        ctx.service.add_action(ctx.target(), *parsed.spec, ctx.caller(), ActionSource::command, {},
                               ctx.at(), ActionKind::preventive);
    return to_channel("🛡 Preventive measure " + std::to_string(item.number) + " added to " +
                      inc.key() + ": " + action_line(item) +
                      "\nMark it done with `/incident done " + std::to_string(item.number) + "`.");
}

Reply review(CommandContext& ctx) {
    const std::string usage = "/incident review <YYYY-MM-DD> <HH:MM>";
    if (ctx.args.size() != 2) {
        usage_error("Give the date and the time (UTC) of the review meeting.", usage);
    }
    const auto when = parse_utc_minute(ctx.args[0], ctx.args[1]);
    if (!when) {
        usage_error("`" + std::string(ctx.args.rest(0)) +
                        "` is not a date and time: write e.g. `2026-12-08 14:00` (UTC).",
                    usage);
    }
    ctx.service.schedule_review(ctx.target(), *when, ctx.caller(), ctx.at());
    std::string text = "🗓 Post-mortem review of " + ctx.target().key() + " scheduled for " +
                       std::string(ctx.args[0]) + " " + std::string(ctx.args[1]) + " UTC by " +
                       mention(ctx.caller()) +
                       ". The roles get a reminder the day before and an hour before.";
    if (const auto link = ctx.service.incident_link(ctx.target()); !link.empty()) {
        text +=
            "\nAdd it to your calendar: " + link + "/review.ics · draft: " + link + "/postmortem";
    }
    return to_channel(text);
}

// When the problem began, for time to detect: a declared incident counts from its
// declaration until a responder knows better.
Reply detected(CommandContext& ctx) {
    const std::string usage = "/incident detected <YYYY-MM-DD> <HH:MM>";
    if (ctx.args.size() != 2) {
        usage_error("Give the date and the time (UTC) the problem began or was first noticed.",
                    usage);
    }
    const auto when = parse_utc_minute(ctx.args[0], ctx.args[1]);
    if (!when) {
        usage_error("`" + std::string(ctx.args.rest(0)) +
                        "` is not a date and time: write e.g. `2026-12-08 14:00` (UTC).",
                    usage);
    }
    Incident& inc = ctx.target();
    ctx.service.set_detected(inc, *when, ctx.caller(), ctx.at());
    return to_channel("🔎 " + inc.key() + " was detected at " + std::string(ctx.args[0]) + " " +
                      std::string(ctx.args[1]) + " UTC (set by " + mention(ctx.caller()) +
                      "): time to detect " + format_duration(*when, inc.declared_at) +
                      " before the declaration.");
}

Reply mine(CommandContext& ctx) {
    if (!ctx.args.empty()) usage_error("`mine` takes no arguments.", "/incident mine");
    const auto items = ctx.service.open_actions_of(ctx.caller());
    if (items.empty()) {
        return to_caller("You own no open action items or preventive measures. 🎉");
    }
    std::string text = "Your open action items and preventive measures:";
    for (const auto& [inc, item] : items) text += "\n" + inc.key() + " " + action_line(item);
    text += "\nMark one done with `/incident done INC-<n> <number>`.";
    return to_caller(text);
}

Reply done(CommandContext& ctx) {
    if (ctx.args.empty()) usage_error("Which action item?", "/incident done <n>");
    const auto number = parse_positive_int(ctx.args[0]);
    if (!number) {
        usage_error("`" + std::string(ctx.args[0]) + "` is not an action item number.",
                    "/incident done <n>");
    }
    const ActionItem item =
        ctx.service.complete_action(ctx.target(), *number, ctx.caller(), ctx.at());
    return to_channel("✅ Action item " + std::to_string(item.number) + " done: " + item.text);
}

// `edit <n> <text>` rewrites the item (an @mention or due: in it changes those too);
// `edit <n> owner @user|nobody` and `edit <n> due YYYY-MM-DD|none` change one field.
Reply edit(CommandContext& ctx) {
    const std::string usage =
        "/incident edit <n> <text> [@owner] [due:YYYY-MM-DD] | <n> owner @user|nobody | "
        "<n> due YYYY-MM-DD|none";
    if (ctx.args.size() < 2) usage_error("Which action item, and what changes?", usage);
    const auto number = parse_positive_int(ctx.args[0]);
    if (!number) {
        usage_error("`" + std::string(ctx.args[0]) + "` is not an action item number.", usage);
    }
    ActionEdit change;
    const std::string field = to_lower(ctx.args[1]);
    if ((field == "owner" || field == "due") && ctx.args.size() == 2) {
        usage_error(field == "owner" ? "Give the new owner (@name or nobody)."
                                     : "Give the new due date (YYYY-MM-DD or none).",
                    usage);
    }
    if (field == "owner" && ctx.args.size() == 3) {
        const std::string who = to_lower(ctx.args[2]);
        change.owner = who == "nobody" || who == "none" ? "" : std::string(ctx.args[2]);
    } else if (field == "due" && ctx.args.size() == 3) {
        const std::string when = to_lower(ctx.args[2]);
        change.due = when == "none" ? std::optional<std::string>{} : std::string(ctx.args[2]);
    } else {
        const TodoParse parsed = parse_todo_body(ctx.args.rest(1));
        if (!parsed.spec) usage_error(parsed.error, usage);
        change.text = parsed.spec->text;
        if (!parsed.spec->owner.empty()) change.owner = parsed.spec->owner;
        if (parsed.spec->due) change.due = parsed.spec->due;
    }
    const ActionItem item =
        ctx.service.edit_action(ctx.target(), *number, change, ctx.caller(), ctx.at());
    return to_channel("✏️ " + mention(ctx.caller()) + " changed action item " +
                      std::to_string(item.number) + " of " + ctx.target().key() + ": " +
                      action_line(item));
}

Reply resolve(CommandContext& ctx) {
    Args args = ctx.args;
    const auto final_severity = take_severity(args);
    Incident& inc = ctx.target();
    ctx.service.resolve(inc, std::string(args.rest(0)), final_severity, ctx.caller(), ctx.at());
    std::string text =
        "✅ " + inc.key() + " resolved after " + format_duration(inc.declared_at, ctx.at()) + ".";
    if (!inc.final_severity) {
        text += "\nWhat is the final severity? It was " + std::string(to_string(inc.severity)) +
                " during the incident: confirm or change it with `/incident sev <1-5>`.";
    }
    text += "\nNext: `/incident postmortem owner @user due YYYY-MM-DD`.";
    return to_channel(text);
}

Reply reopen(CommandContext& ctx) {
    ctx.service.reopen(ctx.target(), ctx.caller(), ctx.at());
    return to_channel(ctx.target().key() + " reopened: back to investigating.");
}

// A PagerDuty incident id ("PT4KHLK", "Q0RIJJZL24RC6W") as typed, or the id in its page's
// URL (https://acme.pagerduty.com/incidents/PT4KHLK); nullopt for anything else.
std::optional<std::string> pagerduty_id(std::string_view text) {
    std::string_view id = text;
    if (text.starts_with("https://") || text.starts_with("<https://")) {
        const auto at = text.find("/incidents/");
        if (at == std::string_view::npos) return std::nullopt;
        id = text.substr(at + 11);
        id = id.substr(0, id.find_first_of("/?#>|"));
    }
    const bool valid =
        id.size() >= 6 && id.size() <= 20 && std::all_of(id.begin(), id.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        });
    if (!valid) return std::nullopt;
    return std::string(id);
}

Reply pagerduty(CommandContext& ctx) {
    const std::string usage = "/incident pagerduty <PagerDuty incident id or URL>";
    if (ctx.args.size() != 1) usage_error("Which PagerDuty incident?", usage);
    const auto id = pagerduty_id(ctx.args[0]);
    if (!id) {
        usage_error("`" + std::string(ctx.args[0]).substr(0, 80) +
                        "` is neither a PagerDuty incident id nor its page's URL.",
                    usage);
    }
    const Incident& inc = ctx.target();
    if (inc.state == State::closed || inc.state == State::merged) {
        throw DomainError(inc.key() + " is " + std::string(to_string(inc.state)) +
                          "; link PagerDuty to an open incident.");
    }
    std::string url;
    if (ctx.args[0].find("://") != std::string_view::npos) {
        url = std::string(ctx.args[0].substr(ctx.args[0].starts_with('<') ? 1 : 0));
        url = url.substr(0, url.find_first_of(">|"));
    }
    if (!ctx.service.link_alert_group(inc, "pagerduty", *id, url, ctx.caller(), ctx.at())) {
        return to_caller(inc.key() + " is linked to PagerDuty incident " + *id + " already.");
    }
    return to_channel("📟 " + inc.key() + " is linked to PagerDuty incident " + *id +
                      ": its webhooks land here, and resolving, merging or a new severity here "
                      "update it in PagerDuty.");
}

Reply merge(CommandContext& ctx) {
    const std::string usage = "/incident merge INC-<n>";
    if (ctx.args.empty()) usage_error("Merge into which incident?", usage);
    const auto primary = parse_incident_key(ctx.args[0]);
    if (!primary) usage_error("`" + std::string(ctx.args[0]) + "` is not INC-<n>.", usage);
    ctx.service.merge(ctx.target(), *primary, ctx.caller(), ctx.at());
    return to_channel(ctx.target().key() + " merged into " + incident_key(*primary) +
                      ": its timeline and action items are part of that post-mortem now.");
}

Reply postmortem(CommandContext& ctx) {
    const std::string usage = "/incident postmortem [owner @user] [due YYYY-MM-DD] [publish]";
    std::optional<std::string> owner, due;
    bool publish = false;
    for (std::size_t i = 0; i < ctx.args.size(); ++i) {
        const std::string word = to_lower(ctx.args[i]);
        if (word == "publish") {
            publish = true;
        } else if ((word == "owner" || word == "due") && i + 1 < ctx.args.size()) {
            const std::string value(ctx.args[++i]);
            if (word == "owner") {
                const auto mention = parse_mention(value);
                if (!mention) usage_error("`" + value + "` is not a @user.", usage);
                owner = value;
            } else {
                if (!is_valid_date(value)) usage_error("`" + value + "` is not a date.", usage);
                due = value;
            }
        } else {
            usage_error("I don't understand `" + std::string(ctx.args[i]) + "`.", usage);
        }
    }
    Incident& inc = ctx.target();
    ctx.service.update_postmortem(inc, owner, due, publish, ctx.caller(), ctx.at());
    const auto snap = ctx.service.snapshot(inc.number);
    std::string text = "📝 Post-mortem draft for " + inc.key() + " regenerated from " +
                       std::to_string(snap.timeline.size()) + " timeline entries and " +
                       std::to_string(snap.actions.size()) + " action items.";
    if (publish) {
        const auto versions = ctx.service.published(inc.number);
        const int version = versions.empty() ? 0 : versions.back().version;
        text = "📚 Post-mortem of " + inc.key() + " published as version " +
               std::to_string(version) +
               "; the announcement channel, subscribers and stakeholders have the link. Later "
               "edits change the draft until the next publish.";
        if (const auto link = ctx.service.published_link(inc, version); !link.empty()) {
            text += "\nPermanent link: " + link;
        }
    }
    text += "\nOwner: " + (inc.postmortem_owner.empty() ? "unassigned" : inc.postmortem_owner) +
            " · Due: " + inc.postmortem_due.value_or("not set") +
            " · Status: " + (inc.postmortem_published_at ? "published" : "draft");
    if (const auto link = ctx.service.incident_link(inc); !link.empty()) {
        text += "\n" + link + "/postmortem";
    } else {
        text += "\nExport it: `incident-bot export " + inc.key() + " --format md`";
    }
    return to_channel(text);
}

Reply close(CommandContext& ctx) {
    std::optional<std::string> reason;
    if (!ctx.args.empty()) {
        if (to_lower(ctx.args[0]) != "force") {
            usage_error("I don't understand `" + std::string(ctx.args[0]) + "`.",
                        "/incident close [force <reason>]");
        }
        reason = std::string(ctx.args.rest(1));
    }
    ctx.service.close(ctx.target(), reason, ctx.caller(), ctx.at());
    return to_channel(ctx.target().key() + " is closed. Thank you all.");
}

Reply info(CommandContext& ctx) {
    const Incident& inc = ctx.target();
    std::string text = "*" + inc.key() + "* " + inc.title +
                       "\nSeverity: " + std::string(to_string(inc.severity)) + " (" +
                       std::string(describe(inc.severity)) + ")";
    if (inc.final_severity) text += " · final " + std::string(to_string(*inc.final_severity));
    text += " · State: " + std::string(to_string(inc.state));
    text += "\nDeclared " + format_time(inc.declared_at) + " by " + mention(inc.declared_by);
    if (inc.resolved_at)
        text += " · resolved after " + format_duration(inc.declared_at, *inc.resolved_at);
    for (const auto& r : ctx.service.roles(inc.number)) {
        text += "\n" + std::string(to_string(r.role)) + ": " + mention(r.person);
    }
    int open = 0;
    for (const auto& a : ctx.service.actions(inc.number)) open += a.status == ActionStatus::open;
    text += "\nOpen action items: " + std::to_string(open);
    if (!inc.channel_name.empty()) text += " · Channel: #" + inc.channel_name;
    if (const auto link = ctx.service.incident_link(inc); !link.empty()) text += "\n" + link;
    return to_caller(text);
}

Reply timeline(CommandContext& ctx) {
    const auto entries = ctx.service.timeline(ctx.target().number);
    std::vector<const TimelineEntry*> keys;
    for (const auto& e : entries) {
        if (e.key_event) keys.push_back(&e);
    }
    constexpr std::size_t k_shown = 30;
    std::string text = "Key events of " + ctx.target().key() + " (UTC):";
    const std::size_t skip = keys.size() > k_shown ? keys.size() - k_shown : 0;
    if (skip) text += "\n… " + std::to_string(skip) + " earlier events";
    for (std::size_t i = skip; i < keys.size(); ++i) {
        text += "\n" + format_time(keys[i]->at).substr(11, 8) + " " + mention(keys[i]->author) +
                ": " + keys[i]->text;
    }
    return to_caller(text);
}

Reply list(CommandContext& ctx) {
    const bool all = !ctx.args.empty() && to_lower(ctx.args[0]) == "all";
    if (!ctx.args.empty() && !all) usage_error("Unknown option.", "/incident list [all]");
    const auto incidents = ctx.service.list(all);
    if (incidents.empty()) return to_caller(all ? "No incidents yet." : "No open incidents. 🎉");
    std::string text = all ? "All incidents:" : "Open incidents:";
    for (const auto& inc : incidents) text += "\n" + incident_line(inc);
    return to_caller(text);
}

Reply stats(CommandContext& ctx) {
    std::optional<int> days;
    if (!ctx.args.empty()) {
        days = parse_positive_int(ctx.args[0]);
        if (!days)
            usage_error("`" + std::string(ctx.args[0]) + "` is not a number of days.",
                        "/incident stats [days]");
    }
    const Stats s = ctx.service.stats(days);
    const auto dur = [](const std::optional<Timestamp>& ms) {
        return ms ? format_duration(0, *ms) : std::string("—");
    };
    std::string text = "Incidents" +
                       (days ? " in the last " + std::to_string(*days) + " days" : "") + ": " +
                       std::to_string(s.total) + " (" + std::to_string(s.open) + " open)";
    for (int i = 0; i < 5; ++i) {
        text += (i ? " · " : "\n") + std::string("SEV") + std::to_string(i + 1) + ": " +
                std::to_string(s.by_severity[i]);
    }
    text += "\nTime to identify: mean " + dur(s.mean_to_identify) + ", median " +
            dur(s.median_to_identify);
    text += "\nTime to mitigate: mean " + dur(s.mean_to_mitigate) + ", median " +
            dur(s.median_to_mitigate);
    text += "\nTime to resolve: mean " + dur(s.mean_to_resolve) + ", median " +
            dur(s.median_to_resolve);
    text += "\nTime to detect (problem start to incident): mean " + dur(s.mean_to_detect) +
            ", median " + dur(s.median_to_detect);
    text += "\nTime to acknowledge (incident from alerts to a person's first command): mean " +
            dur(s.mean_to_acknowledge) + ", median " + dur(s.median_to_acknowledge);
    text += "\nOpen action items: " + std::to_string(s.open_actions) + " (" +
            std::to_string(s.overdue_actions) + " overdue)";
    text += "\nIncidents by affected service:";
    if (s.services.empty()) text += " none recorded (`/incident service <name>`)";
    for (std::size_t i = 0; i < s.services.size(); ++i) {
        text +=
            (i ? ", " : " ") + s.services[i].name + " " + std::to_string(s.services[i].incidents);
    }
    text += "\nContributing factors by category:";
    if (s.factor_categories.empty()) text += " none recorded (`/incident factor`)";
    for (std::size_t i = 0; i < s.factor_categories.size(); ++i) {
        const auto& c = s.factor_categories[i];
        text += (i ? ", " : " ") + to_lower(describe(c.category)) + " in " +
                std::to_string(c.incidents) + (c.incidents == 1 ? " incident" : " incidents") +
                " (" + std::to_string(c.factors) + (c.factors == 1 ? " factor)" : " factors)");
    }
    return to_caller(text);
}

Reply subscription(CommandContext& ctx, bool on) {
    const std::string usage =
        std::string("/incident ") + (on ? "subscribe" : "unsubscribe") + " [sev1-5|all]";
    Subscription sub{ctx.request.platform, ctx.caller(), std::nullopt, Severity::sev5};
    std::string what;
    if (!ctx.args.empty()) {
        const std::string word = to_lower(ctx.args[0]);
        if (word != "all") sub.min_severity = severity_arg(word, usage);
        what = "every incident " + std::string(to_string(sub.min_severity)) + " or worse";
    } else if (ctx.incident) {
        sub.incident = ctx.incident->number;
        what = ctx.incident->key();
    } else {
        usage_error("Outside an incident channel, say which severities.", usage);
    }
    if (!ctx.service.subscribe(sub, on)) {
        return to_caller("You were not subscribed to " + what + ".");
    }
    return to_caller(on ? "Subscribed: you will get a direct message about " + what + "."
                        : "Unsubscribed from " + what + ".");
}

Reply statuspage(CommandContext& ctx) {
    const std::string usage =
        "/incident statuspage <message> | statuspage state "
        "investigating|identified|monitoring|resolved [message]";
    if (ctx.args.empty()) usage_error("Write the message for customers.", usage);
    std::optional<PublicState> state;
    std::size_t from = 0;
    if (to_lower(ctx.args[0]) == "state") {
        if (ctx.args.size() < 2) usage_error("Which state?", usage);
        state = parse_public_state(ctx.args[1]);
        if (!state) {
            usage_error("`" + std::string(ctx.args[1]) +
                            "` is not a status page state: use investigating, identified, "
                            "monitoring or resolved; nothing was published.",
                        usage);
        }
        from = 2;
    }
    const StatusMessage m = ctx.service.publish_status(
        ctx.target(), state, std::string(ctx.args.rest(from)), ctx.caller(), ctx.at());
    std::string text = "🌐 Published on the status page for " + ctx.target().key() + " (" +
                       std::string(describe(m.state)) + ")";
    text += m.text.empty() ? "." : ": " + m.text;
    if (const auto link = ctx.service.status_link(); !link.empty()) text += "\n" + link;
    return to_channel(text);
}

Reply component(CommandContext& ctx) {
    const std::string usage =
        "/incident component <name> operational|degraded|partial-outage|major-outage";
    if (ctx.args.size() < 2) usage_error("Which component, and how is it?", usage);
    const std::string_view word = ctx.args[ctx.args.size() - 1];
    const auto status = parse_component_status(word);
    if (!status) {
        usage_error("`" + std::string(word) +
                        "` is not a component status: use operational, degraded, "
                        "partial-outage or major-outage; nothing changed.",
                    usage);
    }
    std::string name;
    for (std::size_t i = 0; i + 1 < ctx.args.size(); ++i) {
        name += (i ? " " : "") + std::string(ctx.args[i]);
    }
    const ComponentState c =
        ctx.service.set_component(ctx.target(), name, *status, ctx.caller(), ctx.at());
    return to_channel("🌐 Status page: " + c.name + " is now " + to_lower(describe(c.status)) +
                      " (" + ctx.target().key() + ").");
}

}  // namespace

// A one-time link that signs the caller in to the dashboard as themselves; only for them.
Reply login(CommandContext& ctx) {
    if (!ctx.args.empty()) usage_error("`login` takes no arguments.", "/incident login");
    const SignInLink link = ctx.service.sign_in_link(ctx.request.platform, ctx.caller(), ctx.at());
    const Timestamp minutes = std::max<Timestamp>(1, (link.expires_at - ctx.at()) / 60'000);
    return to_caller("Your sign-in link to the dashboard, for you only: " + link.url +
                     "\nIt works once, for the next " + std::to_string(minutes) +
                     " minutes; post-mortem edits made there are recorded as " +
                     mention(ctx.caller()) +
                     ". Do not share it; `/incident login` gives a new one.");
}

void register_builtin_commands(CommandRouter& router) {
    const Scope none = Scope::none, inc = Scope::incident;
    router.add({"declare", "[sev1-5] <title>",
                "declare an incident with its own channel; you become commander", none, declare});
    router.add({"status",
                "<investigating|identified|monitoring|resolved>",
                "move the incident to a new state",
                inc,
                status,
                {"state"}});
    router.add({"sev",
                "<1-5>",
                "change severity (after resolve: the final severity)",
                inc,
                sev,
                {"severity"}});
    router.add({"role", "<commander|scribe|comms|liaison|sme> [@user]",
                "assign a role (default: you)", inc, role});
    router.add(
        {"update", "<text>", "status update for the timeline and stakeholders", inc, update});
    router.add({"note", "<text>", "record a key event on the timeline", inc, note});
    router.add({"todo", "<text> [@owner] [due:YYYY-MM-DD]", "add an action item", inc, todo});
    router.add({"todos", "", "list action items", inc, todos, {"actions"}});
    router.add({"done", "<n>", "mark action item n done", inc, done});
    router.add({"edit", "<n> <text> | <n> owner @user|nobody | <n> due YYYY-MM-DD|none",
                "change an action item's text, owner or due date", inc, edit});
    router.add({"factor", "technical|process|monitoring <text>",
                "record a contributing factor for the post-mortem", inc, factor});
    router.add({"factors", "", "list contributing factors", inc, factors});
    router.add({"summary", "<text>", "the post-mortem's summary (replaces the earlier one)", inc,
                summary});
    router.add({"impact", "customers|internal|availability <text>",
                "the impact on customers, internal operations or availability", inc, impact});
    router.add(
        {"why", "[n] <text>", "add the next of the 5 whys (with n: replace why n)", inc, why});
    router.add({"rootcause", "<text>", "the root cause", inc, rootcause, {"root-cause"}});
    router.add({"lesson", "well|wrong|lucky <text>",
                "a lesson learned: what went well, wrong, or where we got lucky", inc, lesson});
    router.add({"prevent", "<text> [@owner] [due:YYYY-MM-DD]",
                "add a preventive measure (numbered with the action items)", inc, prevent});
    router.add({"service", "<name>", "an affected service (several allowed), counted in stats", inc,
                service_});
    router.add({"review", "<YYYY-MM-DD> <HH:MM>", "schedule the post-mortem review meeting (UTC)",
                inc, review});
    router.add({"detected", "<YYYY-MM-DD> <HH:MM>",
                "when the problem began (UTC), for time to detect", inc, detected});
    router.add(
        {"mine", "", "your open action items and preventive measures, every incident", none, mine});
    router.add({"resolve", "[sev1-5] [summary]", "resolve; optionally set the final severity", inc,
                resolve});
    router.add({"reopen", "", "reopen a resolved incident", inc, reopen});
    router.add({"pagerduty", "<incident id or URL>",
                "link this incident to a PagerDuty incident that follows it", inc, pagerduty});
    router.add({"merge", "INC-<n>", "group this incident under INC-<n>", inc, merge, {}, true});
    router.add({"postmortem",
                "[owner @user] [due YYYY-MM-DD] [publish]",
                "(re)generate the post-mortem draft, set owner, due date, publish",
                inc,
                postmortem,
                {"pm"}});
    router.add(
        {"close", "[force <reason>]", "close after the post-mortem is published", inc, close});
    router.add({"statuspage", "<message> | state <investigating|identified|monitoring|resolved>",
                "publish to the public status page (commander, comms, liaison)", inc, statuspage});
    router.add({"component", "<name> <operational|degraded|partial-outage|major-outage>",
                "a component's status on the public status page", inc, component});
    router.add({"info", "", "summary of the incident", inc, info});
    router.add({"timeline", "", "key events so far", inc, timeline});
    router.add({"list", "[all]", "open incidents (all: every incident)", none, list});
    router.add({"stats", "[days]", "counts and response times across incidents", none, stats});
    router.add({"subscribe", "[sev1-5|all]",
                "direct messages about this incident, or every incident of a severity or worse",
                Scope::optional_incident, [](CommandContext& c) { return subscription(c, true); }});
    router.add({"unsubscribe", "[sev1-5|all]", "stop those direct messages",
                Scope::optional_incident,
                [](CommandContext& c) { return subscription(c, false); }});
    router.add({"login", "", "a one-time link that signs you in to the dashboard (only you see it)",
                none, login});
    router.add({"help", "", "this list", none,
                [&router](CommandContext&) { return to_caller(router.help()); }});
}

}  // namespace incident::commands
