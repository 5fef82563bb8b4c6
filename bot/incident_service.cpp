#include "bot/incident_service.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "bot/alerts.hpp"
#include "bot/evidence.hpp"
#include "bot/people.hpp"
#include "bot/postmortem.hpp"
#include "bot/state_machine.hpp"
#include "bot/text.hpp"

namespace incident {

namespace {

// Against abuse only: far above what a platform delivers (Slack: 40,000 characters, up to
// ~160 KB of UTF-8; Mattermost: 16,383 runes). Anything a platform delivers is kept whole;
// pages and post-mortems clip what they show (clip_for_display).
constexpr std::size_t k_max_text = 1024 * 1024;
constexpr std::string_view k_pushpin = "pushpin";
constexpr std::string_view k_memo = "memo";

std::string encode_reply(const Reply& reply) {
    return nlohmann::json{{"ok", reply.ok},
                          {"in_channel", reply.visibility == Reply::Visibility::in_channel},
                          {"text", reply.text}}
        .dump();
}

Reply decode_reply(const std::string& stored) {
    const auto j = nlohmann::json::parse(stored, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Reply{true, Reply::Visibility::ephemeral, ""};
    return Reply{
        j.value("ok", true),
        j.value("in_channel", false) ? Reply::Visibility::in_channel : Reply::Visibility::ephemeral,
        j.value("text", std::string())};
}

void check_text(std::string_view text, std::string_view what) {
    if (!is_valid_utf8(text)) {
        throw DomainError("The " + std::string(what) +
                          " is not valid UTF-8 text; nothing was recorded.");
    }
    if (text.size() > k_max_text) {
        throw DomainError("The " + std::string(what) + " is longer than " +
                          std::to_string(k_max_text) + " bytes; nothing was recorded.");
    }
}

// Sets or clears one of a chat message's key-event marks (&TimelineEntry::marked_by_pin or
// marked_by_reaction); true when that changed the entry. A message stays a key event while
// any mark is left; an entry the bot made is one by its kind.
bool set_key_mark(TimelineEntry& entry, bool TimelineEntry::*mark, bool on) {
    if (entry.*mark == on) return false;
    entry.*mark = on;
    entry.key_event =
        entry.kind != EntryKind::message || entry.marked_by_pin || entry.marked_by_reaction;
    return true;
}

std::optional<Timestamp> mean(std::vector<Timestamp> v) {
    if (v.empty()) return std::nullopt;
    Timestamp sum = 0;
    for (const auto x : v) sum += x;
    return sum / static_cast<Timestamp>(v.size());
}

std::optional<Timestamp> median(std::vector<Timestamp> v) {
    if (v.empty()) return std::nullopt;
    std::sort(v.begin(), v.end());
    const std::size_t mid = v.size() / 2;
    return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

}  // namespace

IncidentService::IncidentService(Store& store, const Clock& clock, ServiceOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

Outcome IncidentService::execute(const std::string& key, const std::function<Reply()>& work,
                                 std::string_view platform) {
    Outcome out;
    pending_.clear();
    // In the transaction of the change: a rollback leaves no effect behind.
    const auto write_outbox = [&] {
        if (!outbox_) return;
        for (const auto& p : pending_) outbox_->write(p.effect, platform, p.incident);
    };
    try {
        store_.transaction([&] {
            if (key.empty()) {
                out.reply = work();
                write_outbox();
                return;
            }
            if (const auto stored = store_.processed(key)) {
                out.reply = decode_reply(*stored);
                out.duplicate = true;
                return;
            }
            out.reply = work();
            write_outbox();
            store_.mark_processed(key, encode_reply(out.reply), clock_.now());
        });
    } catch (const DomainError& e) {
        pending_.clear();
        out.reply = Reply{false, Reply::Visibility::ephemeral, e.what()};
        return out;
    }
    if (!out.duplicate) {
        for (auto& p : pending_) out.effects.push_back(std::move(p.effect));
    }
    pending_.clear();
    if (batch_depth_ > 0) {
        // Only a savepoint was released: the batch's commit may still fail.
        uncommitted_.insert(uncommitted_.end(), out.effects.begin(), out.effects.end());
        return out;
    }
    tell_listeners(out.effects);
    return out;
}

void IncidentService::batch(const std::function<void()>& work) {
    const std::size_t before = uncommitted_.size();
    ++batch_depth_;
    try {
        store_.transaction(work);
    } catch (...) {
        --batch_depth_;
        // Rolled back (to this batch's savepoint, when nested): its effects never happened.
        uncommitted_.erase(uncommitted_.begin() + static_cast<std::ptrdiff_t>(before),
                           uncommitted_.end());
        throw;
    }
    if (--batch_depth_ > 0) return;
    const std::vector<Effect> committed = std::move(uncommitted_);
    uncommitted_.clear();
    tell_listeners(committed);
}

void IncidentService::tell_listeners(const std::vector<Effect>& effects) {
    // Committed: the outbox's entries may go out now.
    if (outbox_) outbox_->wake_written();
    for (const auto& effect : effects) {
        for (const auto& listener : listeners_) listener(effect);
    }
}

void IncidentService::add_effect_listener(EffectListener listener) {
    listeners_.push_back(std::move(listener));
}

Outcome IncidentService::handle_event(const ChatEvent& event) {
    const EventHeader& h = header_of(event);
    // A message with an id is stored once by the timeline's unique index, and only a stored
    // one has consequences (TODOs, files): its redelivery changes nothing without a
    // processed key, which saves two statements per chat message.
    const auto* posted = std::get_if<MessagePosted>(&event);
    const bool idempotent = posted && !posted->message_id.empty();
    bool repeated = false;
    Outcome out = execute(
        idempotent ? std::string() : h.platform + ":event:" + h.event_id,
        [&] {
            if (idempotent) {
                repeated = !capture(*posted);
            } else {
                std::visit([&](const auto& e) { capture(e); }, event);
            }
            return Reply{};
        },
        h.platform);
    out.duplicate = out.duplicate || repeated;
    return out;
}

bool IncidentService::capture(const MessagePosted& e) {
    if (e.from_bot || (trim(e.text).empty() && e.files.empty())) return true;
    auto incident = store_.incident_by_channel(e.header.platform, e.header.channel_id);
    if (!incident) return true;
    check_text(e.text, "message");
    TimelineEntry entry;
    entry.incident = incident->number;
    entry.kind = EntryKind::message;
    entry.at = e.header.at ? e.header.at : clock_.now();
    entry.author = e.author;
    entry.text = e.text;
    entry.message_id = e.message_id;
    entry.thread_id = e.thread_id;
    if (trim(entry.text).empty()) {
        // A file without words still belongs on the channel log, under its name.
        for (const auto& f : e.files) {
            const auto file = evidence_of(f, incident->number, e, entry.at);
            entry.text += (entry.text.empty() ? "📎 " : ", ") + file.name;
        }
    }
    if (!store_.add_entry(entry)) return false;  // delivered before, under any event id
    sync_todos(*incident, entry, e.author, entry.at, false);
    capture_files(*incident, e, entry.at);
    return true;
}

void IncidentService::capture_files(const Incident& incident, const MessagePosted& e,
                                    Timestamp at) {
    for (const auto& shared : e.files)
        record_file(incident, evidence_of(shared, incident.number, e, at));
}

void IncidentService::capture(const FileShared& e) {
    if (e.file.id.empty()) return;
    auto incident = store_.incident_by_channel(e.header.platform, e.header.channel_id);
    if (!incident) return;
    record_file(*incident,
                evidence_of(e, incident->number, e.header.at ? e.header.at : clock_.now()));
}

void IncidentService::record_file(const Incident& incident, EvidenceFile file) {
    const bool too_large = file.size > options_.file_max_bytes;
    if (too_large) file.status = FileStatus::too_large;
    if (!store_.add_file(file)) {
        if (file.message_id.empty()) return;
        // Announced on its own first (Slack's file_shared): the message names it now.
        for (auto& known : store_.files(incident.number)) {
            if (known.platform != file.platform || known.source_id != file.source_id) continue;
            if (!known.message_id.empty()) return;
            known.message_id = file.message_id;
            store_.update_file(known);
            return;
        }
        return;
    }
    if (too_large) {
        queue(PostMessage{ToIncident{incident.number},
                          too_large_notice(file, options_.file_max_bytes)},
              incident.number);
    } else {
        // Through the outbox: a download that fails is tried again.
        queue(FetchFile{incident.number, file.id}, incident.number);
    }
}

void IncidentService::refuse_too_large(EvidenceFile& file) {
    file.status = FileStatus::too_large;
    file.sha256.clear();
    store_.update_file(file);
    queue(PostMessage{ToIncident{file.incident}, too_large_notice(file, options_.file_max_bytes)},
          file.incident);
}

EvidenceFile IncidentService::describe_file(std::int64_t id, const SharedFile& info) {
    auto known = store_.file(id);
    if (!known) throw std::runtime_error("file " + std::to_string(id) + " is not recorded");
    EvidenceFile file = *known;
    execute(
        "",
        [&] {
            if (!info.name.empty() && is_valid_utf8(info.name)) file.name = info.name;
            if (!info.mime_type.empty() && is_valid_utf8(info.mime_type)) {
                file.mime_type = info.mime_type;
            }
            if (info.size > 0) file.size = info.size;
            if (!info.url.empty()) file.source_url = info.url;
            if (file.size > options_.file_max_bytes && file.status == FileStatus::pending) {
                refuse_too_large(file);
            } else {
                store_.update_file(file);
            }
            return Reply{};
        },
        file.platform);
    return file;
}

EvidenceFile IncidentService::keep_file(std::int64_t id, std::string_view bytes,
                                        const std::string& sha256) {
    auto known = store_.file(id);
    if (!known) throw std::runtime_error("file " + std::to_string(id) + " is not recorded");
    EvidenceFile file = *known;
    if (file.status == FileStatus::stored) return file;
    const bool too_large = static_cast<std::int64_t>(bytes.size()) > options_.file_max_bytes;
    // Durable before the row says stored.
    if (!too_large) store_.put_content(sha256, bytes);
    execute(
        "",
        [&] {
            file.size = static_cast<std::int64_t>(bytes.size());
            if (too_large) {
                refuse_too_large(file);
            } else {
                file.sha256 = sha256;
                file.status = FileStatus::stored;
                file.error.clear();
                store_.update_file(file);
            }
            return Reply{};
        },
        file.platform);
    return file;
}

void IncidentService::file_failed(std::int64_t id, const std::string& error) {
    store_.transaction([&] {
        auto file = store_.file(id);
        if (!file || file->status != FileStatus::pending) return;
        file->status = FileStatus::failed;
        file->error = truncate_utf8(error, 1000);
        store_.update_file(*file);
    });
}

std::optional<EvidenceFile> IncidentService::file(std::int64_t id) {
    return store_.file(id);
}

std::vector<EvidenceFile> IncidentService::files(std::int64_t number) {
    return store_.files(number);
}

std::optional<std::string> IncidentService::file_content(const EvidenceFile& file) {
    if (file.status != FileStatus::stored || file.sha256.empty()) return std::nullopt;
    return store_.content(file.sha256);
}

void IncidentService::capture(const MessageEdited& e) {
    auto incident = store_.incident_by_channel(e.header.platform, e.header.channel_id);
    if (!incident) return;
    auto entry = store_.entry_by_message(incident->number, e.message_id);
    if (!entry) return;
    if (entry->text == e.text) {
        // The same words: not an edit, a change of the message's pin or other props
        // (Mattermost sends post_edited for those too). Only the pin's own mark follows it.
        if (e.pinned && set_key_mark(*entry, &TimelineEntry::marked_by_pin, *e.pinned)) {
            store_.update_entry(*entry);
        }
        return;
    }
    check_text(e.text, "edited message");
    // An edit says whether the message is pinned now; a 📌 mark stays as it is.
    if (e.pinned) set_key_mark(*entry, &TimelineEntry::marked_by_pin, *e.pinned);
    entry->previous_texts.push_back(entry->text);
    entry->text = e.text;
    entry->edited_at = e.header.at ? e.header.at : clock_.now();
    store_.update_entry(*entry);
    sync_todos(*incident, *entry, entry->author, *entry->edited_at, true);
}

void IncidentService::capture(const MessageDeleted& e) {
    auto incident = store_.incident_by_channel(e.header.platform, e.header.channel_id);
    if (!incident) return;
    auto entry = store_.entry_by_message(incident->number, e.message_id);
    if (!entry || entry->deleted_at) return;
    entry->deleted_at = e.header.at ? e.header.at : clock_.now();
    store_.update_entry(*entry);
    // Items harvested from a deleted line are withdrawn, not erased: the post-mortem shows them.
    for (auto item : store_.actions(incident->number)) {
        if (item.source_message_id == e.message_id && item.status == ActionStatus::open) {
            item.status = ActionStatus::cancelled;
            store_.update_action(item);
            refresh_summary(incident->number);
        }
    }
}

void IncidentService::capture(const ReactionChanged& e) {
    if (e.reaction != k_pushpin && e.reaction != k_memo) return;
    auto incident = store_.incident_by_channel(e.header.platform, e.header.channel_id);
    if (!incident) return;
    auto entry = store_.entry_by_message(incident->number, e.message_id);
    if (!entry) return;
    const Timestamp at = e.header.at ? e.header.at : clock_.now();
    if (e.reaction == k_pushpin) {
        if (set_key_mark(*entry, &TimelineEntry::marked_by_reaction, e.added)) {
            store_.update_entry(*entry);
        }
        return;
    }
    std::optional<ActionItem> existing;
    for (auto& item : store_.actions(incident->number)) {
        if (item.source == ActionSource::reaction && item.source_message_id == e.message_id) {
            existing = item;
        }
    }
    if (e.added) {
        if (existing && existing->status != ActionStatus::cancelled) return;
        if (existing) {
            existing->status = ActionStatus::open;
            store_.update_action(*existing);
            refresh_summary(incident->number);
            return;
        }
        const TodoParse parsed = parse_todo_body(entry->text);
        TodoSpec spec = parsed.spec ? *parsed.spec : TodoSpec{entry->text, {}, std::nullopt};
        add_action(*incident, spec, e.actor, ActionSource::reaction, e.message_id, at);
    } else if (existing && existing->status == ActionStatus::open) {
        existing->status = ActionStatus::cancelled;
        store_.update_action(*existing);
        refresh_summary(incident->number);
    }
}

// Keeps the TODO items of one message in step with its current text.
void IncidentService::sync_todos(Incident& incident, const TimelineEntry& entry, const Actor& by,
                                 Timestamp at, bool edited) {
    const std::vector<TodoSpec> todos = find_todos(entry.text);
    // A new message has no items yet: most have no TODO, and need no read of the items.
    if (!edited && todos.empty()) return;
    std::vector<ActionItem> existing;
    if (edited) {
        for (auto& item : store_.actions(incident.number)) {
            if (item.source == ActionSource::todo_line &&
                item.source_message_id == entry.message_id) {
                existing.push_back(item);
            }
        }
    }
    for (std::size_t i = 0; i < todos.size(); ++i) {
        if (i < existing.size()) {
            ActionItem& item = existing[i];
            const bool reassigned = item.owner != todos[i].owner;
            item.text = todos[i].text;
            item.owner = todos[i].owner;
            item.due = todos[i].due;
            if (item.status == ActionStatus::cancelled) {
                item.status = ActionStatus::open;
                refresh_summary(incident.number);
            }
            store_.update_action(item);
            if (reassigned) tell_owner(incident, item, by, at);
        } else {
            add_action(incident, todos[i], by, ActionSource::todo_line, entry.message_id, at);
        }
    }
    for (std::size_t i = todos.size(); i < existing.size(); ++i) {
        if (existing[i].status == ActionStatus::open) {
            existing[i].status = ActionStatus::cancelled;
            store_.update_action(existing[i]);
            refresh_summary(incident.number);
        }
    }
}

// The owner of a new or reassigned item hears of it by direct message, once per owner (the
// key is recorded before the message is queued), unless they assigned it to themselves.
void IncidentService::tell_owner(const Incident& incident, const ActionItem& item, const Actor& by,
                                 Timestamp at) {
    if (item.owner.empty() || mentions(item.owner, by)) return;
    const auto owner = parse_mention(trim(item.owner));
    if (!owner) return;
    const std::string key = "action:" + std::to_string(incident.number) + ":" +
                            std::to_string(item.number) + ":assigned:" + item.owner;
    if (!store_.record_reminder(SentReminder{key, "action_assigned", incident.number, at})) return;
    std::string text =
        "📌 " + mention(by) + " made you the owner of " +
        (item.kind == ActionKind::preventive ? "preventive measure " : "action item ") +
        std::to_string(item.number) + " of " + incident.key() + " (" + incident.title +
        "): " + item.text;
    if (item.due) text += " (due " + *item.due + ")";
    text += ". Done? `/incident done " + incident.key() + " " + std::to_string(item.number) +
            "`; all of yours: `/incident mine`.";
    queue(PostMessage{ToUser{*owner}, text}, incident.number);
}

void IncidentService::bind_channel(std::int64_t number, const std::string& platform,
                                   const std::string& channel_id, const std::string& channel_name) {
    store_.transaction([&] {
        auto incident = store_.incident(number);
        if (!incident) return;
        incident->platform = platform;
        incident->channel_id = channel_id;
        if (!channel_name.empty()) incident->channel_name = channel_name;
        store_.update_incident(*incident);
    });
}

void IncidentService::record(const Incident& incident, EntryKind kind, const Actor& by,
                             Timestamp at, std::string text) {
    add_key_event(incident, kind, by, at, std::move(text));
}

bool IncidentService::add_key_event(const Incident& incident, EntryKind kind, const Actor& by,
                                    Timestamp at, std::string text, std::string message_id) {
    TimelineEntry entry;
    entry.incident = incident.number;
    entry.kind = kind;
    entry.at = at;
    entry.author = by;
    entry.text = std::move(text);
    entry.message_id = std::move(message_id);
    entry.key_event = kind != EntryKind::message;
    return store_.add_entry(entry);
}

bool IncidentService::link_alert_group(const Incident& incident, const std::string& source,
                                       const std::string& group_key, const std::string& url,
                                       const Actor& by, Timestamp at) {
    if (const auto owner = store_.alert_group_incident(source, group_key)) {
        if (*owner == incident.number) return false;
        const auto other = store_.incident(*owner);
        if (other && other->state != State::closed && other->state != State::merged) {
            throw DomainError(source + " " + group_key + " is on " + other->key() + " (" +
                              std::string(to_string(other->state)) + ") already.");
        }
    }
    Alert link;
    link.incident = incident.number;
    link.source = source;
    link.group_key = group_key;
    link.fingerprint = group_key;
    link.status = "firing";
    link.starts_at = at;
    link.url = url;
    link.received_at = at;
    link.labels["linked_by"] = by.name.empty() ? by.id : by.name;
    if (!store_.add_alert(link)) return false;
    add_key_event(
        incident, EntryKind::note, by, at,
        "Linked to " + source + " incident " + group_key + (url.empty() ? "" : " " + url));
    return true;
}

std::string IncidentService::incident_link(const Incident& incident) const {
    if (options_.public_url.empty()) return {};
    std::string base = options_.public_url;
    if (!base.ends_with('/')) base += '/';
    return base + "incidents/" + incident.key();
}

std::string IncidentService::postmortem_link(const Incident& incident) const {
    const std::string link = incident_link(incident);
    return link.empty() ? link : link + "/postmortem";
}

std::string role_label(Role role) {
    switch (role) {
        case Role::commander:
            return "Commander";
        case Role::scribe:
            return "Scribe";
        case Role::comms:
            return "Comms";
        case Role::liaison:
            return "Liaison";
        case Role::sme:
            return "SME";
    }
    return std::string(to_string(role));
}

SummaryFacts IncidentService::summary_facts(const Incident& incident) {
    SummaryFacts facts;
    facts.incident = incident;
    for (const auto& r : store_.roles(incident.number)) {
        if (r.role == Role::commander) {
            facts.commander = r.person;
        } else if (!facts.roles.empty() && facts.roles.back().first == r.role) {
            facts.roles.back().second.push_back(r.person);
        } else {
            facts.roles.push_back({r.role, {r.person}});
        }
    }
    for (const auto& item : store_.actions(incident.number)) {
        facts.open_actions += item.status == ActionStatus::open;
        facts.done_actions += item.status == ActionStatus::done;
    }
    // The whole timeline is read only once there was an update (a long incident has many
    // thousands of entries; the declaration sets last_update_at to its own time).
    if (incident.last_update_at > incident.declared_at) {
        for (const auto& e : store_.timeline(incident.number)) {
            if (e.kind == EntryKind::update) facts.last_update = e.text;
        }
    }
    facts.link = incident_link(incident);
    facts.postmortem_link = postmortem_link(incident);
    return facts;
}

std::optional<LiveMessage> IncidentService::live_message(std::int64_t incident,
                                                         std::string_view platform,
                                                         std::string_view purpose) {
    return store_.live_message(incident, platform, purpose);
}

void IncidentService::save_live_message(const LiveMessage& message) {
    store_.save_live_message(message);
}

std::string IncidentService::published_link(const Incident& incident, int version) const {
    const std::string link = incident_link(incident);
    return link.empty() ? link : link + "/postmortem/v" + std::to_string(version);
}

std::string IncidentService::topic_for(const Incident& incident) {
    std::string topic =
        std::string(to_string(incident.severity)) + " · " + std::string(to_string(incident.state));
    for (const auto& r : store_.roles(incident.number)) {
        if (r.role == Role::commander) topic += " · IC " + mention(r.person);
    }
    return topic + " · " + incident.title;
}

void IncidentService::refresh_topic(const Incident& incident) {
    if (!incident.channel_id.empty()) {
        queue(SetTopic{incident.number, topic_for(incident)}, incident.number);
    }
}

void IncidentService::refresh_summary(std::int64_t incident) {
    for (const auto& p : pending_) {
        const auto* r = std::get_if<RefreshSummary>(&p.effect);
        if (r && r->incident == incident) return;
    }
    queue(RefreshSummary{incident}, incident);
}

Notify IncidentService::notify_event(const Incident& incident, NotifyKind kind, const Actor& by,
                                     Timestamp at, const std::string& text) const {
    Notify event;
    event.kind = kind;
    event.number = incident.number;
    event.key = incident.key();
    event.title = incident.title;
    event.severity = incident.severity;
    event.final_severity = incident.final_severity;
    event.state = incident.state;
    event.merged_into = incident.merged_into;
    event.platform = incident.platform;
    event.channel_name = incident.channel_name;
    event.by = by;
    event.text = text;
    event.link = incident_link(incident);
    event.at = at;
    return event;
}

void IncidentService::notify(const Incident& incident, NotifyKind kind, const Actor& by,
                             Timestamp at, const std::string& text,
                             const std::string& postmortem_link) {
    const std::string link = incident_link(incident);
    std::string message = "*" + incident.key() + "* (" + std::string(to_string(incident.severity)) +
                          ") " + incident.title + ": " + text;
    if (!postmortem_link.empty()) {
        message += " — " + postmortem_link;
    } else if (!link.empty()) {
        message += " — " + link;
    }
    queue(PostMessage{ToAnnouncements{}, message}, incident.number);
    Notify event = notify_event(incident, kind, by, at, text);
    event.postmortem_link = postmortem_link;
    queue(std::move(event), incident.number);
    std::set<std::string> told;
    for (const auto& sub : store_.subscriptions()) {
        if (sub.platform != incident.platform) continue;
        const bool matches =
            sub.incident ? *sub.incident == incident.number : incident.severity <= sub.min_severity;
        if (matches && told.insert(sub.who.id).second) {
            queue(PostMessage{ToUser{sub.who}, message}, incident.number);
        }
    }
}

Incident IncidentService::declare(const Actor& by, Severity severity, const std::string& title,
                                  const std::string& platform, Timestamp at,
                                  const DeclareOptions& how) {
    const std::string clean(trim(title));
    if (clean.empty()) {
        throw DomainError("An incident needs a title: `/incident declare [sev1-5] <title>`.");
    }
    check_text(clean, "title");
    if (clean.size() > k_max_title_bytes) {
        throw DomainError("The title is longer than " + std::to_string(k_max_title_bytes) +
                          " bytes; keep it short and put details in `/incident note`.");
    }
    Incident incident;
    incident.title = clean;
    incident.severity = severity;
    incident.platform = platform;
    incident.declared_by = by;
    incident.declared_at = at;
    incident.last_update_at = at;
    incident.detected_at = how.detected_at;
    incident.related_to = how.related_to;
    store_.insert_incident(incident);
    incident.channel_name = "inc-" + std::to_string(incident.number) + "-" + slugify(clean, 40);
    store_.update_incident(incident);
    record(incident, EntryKind::declared, by, at,
           "Declared " + std::string(to_string(severity)) + ": " + clean);
    if (how.take_command) {
        store_.assign_role(incident.number, RoleAssignment{Role::commander, by, by, at});
        record(incident, EntryKind::role, by, at, mention(by) + " is commander");
    }
    std::vector<Actor> invite;
    if (!is_system(by)) invite.push_back(by);
    queue(CreateChannel{incident.number, incident.channel_name, topic_for(incident),
                        std::move(invite)},
          incident.number);
    notify(incident, NotifyKind::declared, by, at, "declared by " + mention(by));
    return incident;
}

void IncidentService::transition(Incident& incident, State to, const Actor& by, Timestamp at) {
    if (const auto error = transition_error(incident.state, to)) throw DomainError(*error);
    const State from = incident.state;
    incident.state = to;
    if (to == State::identified && !incident.identified_at) incident.identified_at = at;
    if (to == State::monitoring && !incident.mitigated_at) incident.mitigated_at = at;
    if (to == State::resolved) incident.resolved_at = at;
    if (to == State::closed) incident.closed_at = at;
    if (from == State::resolved && to == State::investigating) incident.resolved_at.reset();
    store_.update_incident(incident);
    record(incident, EntryKind::state, by, at,
           std::string(to_string(from)) + " → " + std::string(to_string(to)));
    refresh_topic(incident);
    refresh_summary(incident.number);
}

void IncidentService::change_state(Incident& incident, State to, const Actor& by, Timestamp at) {
    if (to == State::resolved) return resolve(incident, {}, std::nullopt, by, at);
    if (to == State::closed) return close(incident, std::nullopt, by, at);
    if (to == State::merged) {
        throw DomainError("Use `/incident merge INC-<n>` to merge into another incident.");
    }
    if (incident.state == State::resolved && to == State::investigating) {
        return reopen(incident, by, at);
    }
    transition(incident, to, by, at);
    notify(incident, NotifyKind::state, by, at,
           "is now *" + std::string(to_string(to)) + "* (" + mention(by) + ")");
}

void IncidentService::change_severity(Incident& incident, Severity severity, const Actor& by,
                                      Timestamp at) {
    if (incident.state == State::closed || incident.state == State::merged) {
        throw DomainError("The incident is " + std::string(to_string(incident.state)) +
                          "; its severity can no longer change.");
    }
    if (incident.state == State::resolved) {
        // After resolution the number people argue about is the final severity.
        incident.final_severity = severity;
        store_.update_incident(incident);
        record(incident, EntryKind::severity, by, at,
               "Final severity set to " + std::string(to_string(severity)));
        refresh_summary(incident.number);
        return;
    }
    if (incident.severity == severity) {
        throw DomainError("The incident is already " + std::string(to_string(severity)) + ".");
    }
    const Severity from = incident.severity;
    incident.severity = severity;
    store_.update_incident(incident);
    record(incident, EntryKind::severity, by, at,
           "Severity " + std::string(to_string(from)) + " → " + std::string(to_string(severity)));
    refresh_topic(incident);
    refresh_summary(incident.number);
    notify(incident, NotifyKind::severity, by, at,
           "severity changed from " + std::string(to_string(from)) + " to " +
               std::string(to_string(severity)));
}

void IncidentService::assign_role(Incident& incident, Role role, const Actor& person_,
                                  const Actor& by, Timestamp at) {
    if (!incident.is_open() && incident.state != State::resolved) {
        throw DomainError("The incident is " + std::string(to_string(incident.state)) +
                          "; roles can no longer change.");
    }
    store_.assign_role(incident.number, RoleAssignment{role, person_, by, at});
    record(incident, EntryKind::role, by, at,
           mention(person_) + " is " + std::string(to_string(role)));
    if (role == Role::commander) refresh_topic(incident);
    refresh_summary(incident.number);
}

void IncidentService::post_update(Incident& incident, const std::string& text, const Actor& by,
                                  Timestamp at) {
    const std::string clean(trim(text));
    if (clean.empty()) throw DomainError("Say what changed: `/incident update <text>`.");
    check_text(clean, "update");
    incident.last_update_at = at;
    store_.update_incident(incident);
    record(incident, EntryKind::update, by, at, clean);
    refresh_summary(incident.number);
    notify(incident, NotifyKind::update, by, at, "update from " + mention(by) + ": " + clean);
}

void IncidentService::add_note(Incident& incident, const std::string& text, const Actor& by,
                               Timestamp at) {
    const std::string clean(trim(text));
    if (clean.empty()) throw DomainError("A note needs text: `/incident note <text>`.");
    check_text(clean, "note");
    record(incident, EntryKind::note, by, at, clean);
}

ActionItem IncidentService::add_action(Incident& incident, const TodoSpec& spec, const Actor& by,
                                       ActionSource source, const std::string& message_id,
                                       Timestamp at, ActionKind kind) {
    // Captured TODO lines and reactions follow the channel; a command adds work only while
    // the incident is open (after closing, the review's new work belongs to a new incident).
    if (source == ActionSource::command) {
        refuse_merged_actions(incident);
        if (incident.state == State::closed) {
            throw DomainError(
                incident.key() + " is closed; add the " +
                (kind == ActionKind::preventive ? "preventive measure" : "action item") +
                " to an open incident.");
        }
    }
    check_text(spec.text, "action item");
    ActionItem item;
    item.kind = kind;
    item.incident = incident.number;
    item.text = spec.text;
    item.owner = spec.owner;
    item.due = spec.due;
    item.source = source;
    item.source_message_id = message_id;
    item.author = by;
    item.created_at = at;
    store_.add_action(item);
    refresh_summary(incident.number);
    tell_owner(incident, item, by, at);
    std::string confirmation =
        "Action item " + std::to_string(item.number) + " recorded: " + item.text;
    if (item.due) confirmation += " (due " + *item.due + ")";
    if (source != ActionSource::command) {
        queue(PostMessage{ToIncident{incident.number}, confirmation}, incident.number);
    }
    return item;
}

ContributingFactor IncidentService::add_factor(Incident& incident, FactorCategory category,
                                               const std::string& text, const Actor& by,
                                               Timestamp at) {
    const std::string clean(trim(text));
    if (clean.empty()) {
        throw DomainError("Describe the factor: `/incident factor " +
                          std::string(to_string(category)) + " <text>`.");
    }
    check_text(clean, "contributing factor");
    ContributingFactor factor;
    factor.incident = incident.number;
    factor.category = category;
    factor.text = clean;
    factor.author = by;
    factor.at = at;
    store_.add_factor(factor);
    return factor;
}

// A merged incident's primary holds its work.
void IncidentService::refuse_merged_actions(const Incident& incident) {
    if (incident.state != State::merged) return;
    const std::string primary = incident_key(incident.merged_into.value_or(0));
    throw DomainError(incident.key() + " was merged into " + primary +
                      "; its action items are followed there, e.g. `/incident todos " + primary +
                      "`.");
}

// The action item `number` of `incident`, or a DomainError saying why it cannot change.
ActionItem IncidentService::action_to_change(const Incident& incident, int number) {
    refuse_merged_actions(incident);
    for (auto& item : store_.actions(incident.number)) {
        if (item.number == number) return item;
    }
    throw DomainError(incident.key() + " has no action item " + std::to_string(number) +
                      "; `/incident todos` lists them.");
}

ActionItem IncidentService::complete_action(Incident& incident, int number, const Actor& by,
                                            Timestamp at) {
    ActionItem item = action_to_change(incident, number);
    if (item.status == ActionStatus::done) {
        throw DomainError("Action item " + std::to_string(number) + " is already done.");
    }
    item.status = ActionStatus::done;
    item.done_at = at;
    store_.update_action(item);
    refresh_summary(incident.number);
    record(incident, EntryKind::action, by, at,
           "Action item " + std::to_string(number) + " done: " + item.text);
    return item;
}

ActionItem IncidentService::edit_action(Incident& incident, int number, const ActionEdit& edit,
                                        const Actor& by, Timestamp at) {
    ActionItem item = action_to_change(incident, number);
    const std::string label = "Action item " + std::to_string(number);
    std::vector<std::string> changes;
    if (edit.text) {
        const std::string text(trim(*edit.text));
        if (text.empty()) throw DomainError(label + " needs text: say what needs doing.");
        check_text(text, "action item");
        if (text != item.text) {
            item.text = text;
            changes.push_back("now reads \"" + text + "\"");
        }
    }
    if (edit.owner) {
        const std::string owner(trim(*edit.owner));
        if (!owner.empty() && !parse_mention(owner)) {
            throw DomainError("`" + owner + "` is not a person: write @name, or nobody.");
        }
        if (owner != item.owner) {
            item.owner = owner;
            changes.push_back(owner.empty() ? "has no owner" : "is owned by " + owner);
        }
    }
    if (edit.due) {
        if (*edit.due && !is_valid_date(**edit.due)) {
            throw DomainError("`" + **edit.due +
                              "` is not a due date: write YYYY-MM-DD, e.g. 2026-12-01, or none.");
        }
        if (*edit.due != item.due) {
            item.due = *edit.due;
            changes.push_back(item.due ? "is due " + *item.due : "has no due date");
        }
    }
    if (changes.empty()) throw DomainError(label + " already reads that; nothing changed.");
    store_.update_action(item);
    refresh_summary(incident.number);
    std::string summary = label;
    for (std::size_t i = 0; i < changes.size(); ++i) {
        summary += (i == 0 ? " " : i + 1 == changes.size() ? " and " : ", ") + changes[i];
    }
    record(incident, EntryKind::action, by, at, summary);
    tell_owner(incident, item, by, at);
    return item;
}

void IncidentService::resolve(Incident& incident, const std::string& summary,
                              std::optional<Severity> final_severity, const Actor& by,
                              Timestamp at) {
    check_text(summary, "summary");
    transition(incident, State::resolved, by, at);
    if (!trim(summary).empty()) incident.summary = std::string(trim(summary));
    if (final_severity) incident.final_severity = final_severity;
    store_.update_incident(incident);
    // The summary given at resolution is the first revision of the post-mortem's summary.
    if (!trim(summary).empty())
        add_revision(incident, Section::summary, 0, incident.summary, by, at);
    if (final_severity) {
        record(incident, EntryKind::severity, by, at,
               "Final severity set to " + std::string(to_string(*final_severity)));
    }
    notify(
        incident, NotifyKind::resolved, by, at,
        "resolved by " + mention(by) + (incident.summary.empty() ? "" : ": " + incident.summary));
}

void IncidentService::reopen(Incident& incident, const Actor& by, Timestamp at) {
    if (incident.state != State::resolved) {
        throw DomainError("Only a resolved incident can be reopened; " + incident.key() + " is " +
                          std::string(to_string(incident.state)) + ".");
    }
    transition(incident, State::investigating, by, at);
    notify(incident, NotifyKind::state, by, at, "reopened by " + mention(by));
}

void IncidentService::merge(Incident& incident, std::int64_t primary_number, const Actor& by,
                            Timestamp at) {
    if (primary_number == incident.number) {
        throw DomainError("An incident cannot be merged into itself.");
    }
    auto primary = store_.incident(primary_number);
    if (!primary) throw DomainError(incident_key(primary_number) + " does not exist.");
    if (primary->state == State::merged || primary->state == State::closed) {
        throw DomainError(primary->key() + " is " + std::string(to_string(primary->state)) +
                          "; merge into an incident that is still open.");
    }
    transition(incident, State::merged, by, at);
    incident.merged_into = primary_number;
    store_.update_incident(incident);
    record(*primary, EntryKind::merge, by, at,
           incident.key() + " (" + incident.title + ") merged into this incident");
    notify(incident, NotifyKind::merged, by, at,
           "merged into " + primary->key() + " by " + mention(by));
}

void IncidentService::update_postmortem(Incident& incident, const std::optional<std::string>& owner,
                                        const std::optional<std::string>& due, bool publish,
                                        const Actor& by, Timestamp at) {
    if (incident.state == State::merged) {
        throw DomainError("The incident was merged into " +
                          incident_key(incident.merged_into.value_or(0)) +
                          "; its post-mortem is part of that one.");
    }
    if (due && !is_valid_date(*due)) {
        throw DomainError("`" + *due + "` is not a date: write YYYY-MM-DD.");
    }
    std::string changes;
    if (owner) {
        incident.postmortem_owner = *owner;
        changes += "owner " + *owner;
    }
    if (due) {
        incident.postmortem_due = *due;
        changes += std::string(changes.empty() ? "" : ", ") + "due " + *due;
    }
    if (publish) {
        if (incident.state != State::resolved && incident.state != State::closed) {
            throw DomainError("Resolve the incident before publishing its post-mortem.");
        }
        incident.postmortem_published_at = at;
    }
    store_.update_incident(incident);
    if (publish) {
        const PublishedPostmortem version = publish_version(incident, by, at);
        changes += std::string(changes.empty() ? "" : ", ") + "published version " +
                   std::to_string(version.version);
    }
    if (!changes.empty())
        record(incident, EntryKind::postmortem, by, at, "Post-mortem: " + changes);
}

// Freezes the draft as it is now under the next version number, and tells the stakeholders
// where the permanent copy is.
PublishedPostmortem IncidentService::publish_version(Incident& incident, const Actor& by,
                                                     Timestamp at) {
    const IncidentSnapshot snap = snapshot(incident.number);
    const PostmortemSections sections = current_sections(snap.revisions);
    PublishedPostmortem version;
    version.incident = incident.number;
    version.title = incident.title;
    version.summary = incident.summary;
    version.root_cause = sections.root_cause ? sections.root_cause->text : "";
    for (const auto& why : sections.whys) version.root_cause += "\n" + why.text;
    for (const auto& f : snap.factors) version.factors += f.text + "\n";
    for (const auto& a : snap.actions) version.actions += a.text + "\n";
    version.by = by;
    version.at = at;
    // The frozen text names its own version; the store numbers it the same way, in this
    // transaction.
    const auto earlier = store_.published(incident.number);
    version.markdown = render_postmortem(snap, earlier.empty() ? 1 : earlier.back().version + 1);
    store_.add_published(version);
    const std::string link = published_link(incident, version.version);
    notify(incident, NotifyKind::postmortem_published, by, at,
           "post-mortem published (version " + std::to_string(version.version) + ")", link);
    return version;
}

void IncidentService::require_editable_postmortem(const Incident& incident) {
    if (incident.state == State::merged) {
        throw DomainError(incident.key() + " was merged into " +
                          incident_key(incident.merged_into.value_or(0)) +
                          "; write the post-mortem there, e.g. `/incident summary " +
                          incident_key(incident.merged_into.value_or(0)) + " <text>`.");
    }
    if (incident.state == State::closed) {
        throw DomainError(incident.key() +
                          " is closed, so its post-mortem is final and nothing was changed. "
                          "Record follow-up work with `/incident todo` on an open incident.");
    }
}

SectionRevision IncidentService::add_revision(const Incident& incident, Section section, int item,
                                              std::string text, const Actor& by, Timestamp at) {
    SectionRevision revision;
    revision.incident = incident.number;
    revision.section = section;
    revision.item = item;
    revision.text = std::move(text);
    revision.author = by;
    revision.at = at;
    store_.add_revision(revision);
    return revision;
}

IncidentService::SectionWrite IncidentService::check_section_write(const Incident& incident,
                                                                   Section section,
                                                                   const std::string& text,
                                                                   std::optional<int> replace) {
    if (section == Section::review) {
        throw DomainError("Schedule the review with `" + section_usage(section) + "`.");
    }
    require_editable_postmortem(incident);
    const std::string clean(trim(text));
    if (clean.empty()) {
        throw DomainError(section == Section::notes
                              ? "Nothing was written: type the notes in the Notes form of the "
                                "post-mortem page."
                              : "Nothing was written: type the text after the command, `" +
                                    section_usage(section) + "`.");
    }
    if (!is_valid_utf8(clean)) {
        throw DomainError("The text is not valid UTF-8; nothing was recorded.");
    }
    if (utf8_length(clean) > k_max_section_chars) {
        throw DomainError("The text is " + std::to_string(utf8_length(clean)) +
                          " characters; a section holds at most " +
                          std::to_string(k_max_section_chars) +
                          ". Shorten it (link to a longer document) and send it again.");
    }
    const PostmortemSections current = current_sections(store_.revisions(incident.number));
    int item = 0;
    std::optional<SectionRevision> replaces;
    if (is_list_section(section)) {
        const auto& items = current.list(section);
        if (replace) {
            if (*replace < 1 || *replace > static_cast<int>(items.size())) {
                throw DomainError(
                    incident.key() + " has " +
                    (items.empty()
                         ? std::string("no ") + std::string(to_string(section)) + "s yet"
                         : std::to_string(items.size()) + " " + std::string(to_string(section)) +
                               (items.size() == 1 ? "" : "s")) +
                    ", so there is no number " + std::to_string(*replace) +
                    " to replace. Add one with `" + section_usage(section) + "`.");
            }
            replaces = items[static_cast<std::size_t>(*replace - 1)];
            item = replaces->item;
        } else {
            item = items.empty() ? 1 : items.back().item + 1;
        }
        if (section == Section::service) {
            if (clean.size() > 100 || clean.find('\n') != std::string::npos) {
                throw DomainError("A service is a short name such as `checkout`: `" +
                                  section_usage(section) + "`.");
            }
            for (const auto& existing : items) {
                if (to_lower(existing.text) == to_lower(clean)) {
                    throw DomainError("`" + existing.text + "` is already an affected service of " +
                                      incident.key() + "; nothing changed.");
                }
            }
        }
    } else if (replace) {
        throw DomainError("That section has one text, not numbered items: `" +
                          section_usage(section) + "`.");
    } else {
        replaces = current.single(section);
    }
    return SectionWrite{clean, item, std::move(replaces)};
}

SectionRevision IncidentService::store_section(Incident& incident, Section section,
                                               SectionWrite write, const Actor& by, Timestamp at) {
    if (section == Section::summary) {
        incident.summary = write.text;
        store_.update_incident(incident);
    }
    return add_revision(incident, section, write.item, std::move(write.text), by, at);
}

SectionRevision IncidentService::write_section(Incident& incident, Section section,
                                               const std::string& text, std::optional<int> replace,
                                               const Actor& by, Timestamp at) {
    return store_section(incident, section, check_section_write(incident, section, text, replace),
                         by, at);
}

SectionSave IncidentService::save_section(Incident& incident, Section section,
                                          const std::string& text, std::optional<int> replace,
                                          std::int64_t based_on, const Actor& by, Timestamp at) {
    SectionWrite write = check_section_write(incident, section, text, replace);
    const bool appends = is_list_section(section) && !replace;
    const std::int64_t seen = write.replaces ? write.replaces->id : 0;
    SectionSave out;
    if (!appends && seen != based_on) {
        out.newer = write.replaces;
        out.revision = add_revision(incident, section, set_aside_item(write.item),
                                    std::move(write.text), by, at);
        return out;
    }
    out.revision = store_section(incident, section, std::move(write), by, at);
    return out;
}

SignInLink IncidentService::sign_in_link(const std::string& platform, const Actor& person,
                                         Timestamp at) const {
    if (!sign_in_) {
        throw DomainError(
            "This bot has no dashboard sign-in: it needs the dashboard (INCIDENT_BOT_LISTEN) to "
            "run. Ask whoever runs the bot.");
    }
    return sign_in_(platform, person, at);
}

SectionRevision IncidentService::schedule_review(Incident& incident, Timestamp when,
                                                 const Actor& by, Timestamp at) {
    require_editable_postmortem(incident);
    if (when < at) {
        throw DomainError(format_time(when).substr(0, 16) + " UTC is in the past (it is now " +
                          format_time(at).substr(0, 16) + " UTC). Pick a later time: `" +
                          section_usage(Section::review) + "`.");
    }
    return add_revision(incident, Section::review, 0, format_time(when), by, at);
}

void IncidentService::set_detected(Incident& incident, Timestamp when, const Actor& by,
                                   Timestamp at) {
    require_editable_postmortem(incident);
    if (when > incident.declared_at) {
        throw DomainError(format_time(when).substr(0, 16) + " UTC is after " + incident.key() +
                          " was declared (" + format_time(incident.declared_at).substr(0, 16) +
                          " UTC): give when the problem began, at or before the declaration.");
    }
    const std::string was =
        incident.detected_at
            ? format_time(*incident.detected_at).substr(0, 16) + " UTC"
            : "the declaration, " + format_time(incident.declared_at).substr(0, 16) + " UTC";
    incident.detected_at = when;
    store_.update_incident(incident);
    record(incident, EntryKind::note, by, at,
           "Detected at " + format_time(when).substr(0, 16) + " UTC (set by " + mention(by) +
               "; was " + was + ")");
}

void IncidentService::close(Incident& incident, const std::optional<std::string>& force_reason,
                            const Actor& by, Timestamp at) {
    if (incident.state == State::resolved && !incident.postmortem_published_at) {
        if (!force_reason || trim(*force_reason).empty()) {
            throw DomainError(
                "Publish the post-mortem first (`/incident postmortem publish`), or close "
                "anyway with `/incident close force <reason>`.");
        }
        check_text(*force_reason, "reason");
        record(incident, EntryKind::note, by, at,
               "Closed without a published post-mortem: " + std::string(trim(*force_reason)));
    }
    transition(incident, State::closed, by, at);
    notify(incident, NotifyKind::closed, by, at, "closed by " + mention(by));
}

bool IncidentService::subscribe(const Subscription& sub, bool on) {
    if (on) {
        store_.subscribe(sub);
        return true;
    }
    return store_.unsubscribe(sub);
}

std::optional<Incident> IncidentService::find(std::int64_t number) {
    return store_.incident(number);
}

Incident IncidentService::require(std::int64_t number) {
    auto incident = store_.incident(number);
    if (!incident) {
        throw DomainError(incident_key(number) +
                          " does not exist; `/incident list all` shows every incident.");
    }
    return *incident;
}

std::optional<Incident> IncidentService::find_by_channel(const std::string& platform,
                                                         const std::string& channel_id) {
    return store_.incident_by_channel(platform, channel_id);
}

std::vector<Incident> IncidentService::list(bool include_closed) {
    return store_.incidents(include_closed);
}

std::vector<RoleAssignment> IncidentService::roles(std::int64_t number) {
    return store_.roles(number);
}
std::vector<ActionItem> IncidentService::actions(std::int64_t number) {
    return store_.actions(number);
}
std::vector<ContributingFactor> IncidentService::factors(std::int64_t number) {
    return store_.factors(number);
}
std::vector<TimelineEntry> IncidentService::timeline(std::int64_t number) {
    return store_.timeline(number);
}

std::vector<SectionRevision> IncidentService::revisions(std::int64_t number) {
    return store_.revisions(number);
}
std::vector<PublishedPostmortem> IncidentService::published(std::int64_t number) {
    return store_.published(number);
}
std::optional<PublishedPostmortem> IncidentService::published(std::int64_t number, int version) {
    for (auto& p : store_.published(number)) {
        if (p.version == version) return p;
    }
    return std::nullopt;
}
std::vector<PublishedPostmortem> IncidentService::search_published(const std::string& words) {
    return store_.search_published(words);
}

PostmortemSections IncidentService::sections(std::int64_t number) {
    return current_sections(store_.revisions(number));
}

std::vector<std::pair<Incident, ActionItem>> IncidentService::open_actions_of(const Actor& who) {
    std::vector<std::pair<Incident, ActionItem>> mine;
    auto incidents = store_.incidents(true);
    std::sort(incidents.begin(), incidents.end(),
              [](const Incident& a, const Incident& b) { return a.number < b.number; });
    for (const auto& inc : incidents) {
        for (const auto& item : store_.actions(inc.number)) {
            if (item.status == ActionStatus::open && mentions(item.owner, who)) {
                mine.emplace_back(inc, item);
            }
        }
    }
    return mine;
}

IncidentSnapshot IncidentService::snapshot(std::int64_t number) {
    IncidentSnapshot snap;
    snap.incident = require(number);
    snap.roles = store_.roles(number);
    snap.timeline = store_.timeline(number);
    snap.actions = store_.actions(number);
    snap.factors = store_.factors(number);
    snap.revisions = store_.revisions(number);
    snap.alerts = store_.alerts(number);
    snap.status_messages = store_.status_messages(number);
    snap.files = store_.files(number);
    for (const auto& merged : store_.merged_into(number)) {
        snap.merged.push_back(snapshot(merged.number));
    }
    return snap;
}

Stats IncidentService::stats(std::optional<int> days) {
    Stats s;
    const Timestamp now = clock_.now();
    std::vector<Timestamp> identify, mitigate, resolve_times, detect, acknowledge;
    // category -> the (primary) incidents that named it, and the number of factors
    std::map<FactorCategory, std::pair<std::set<std::int64_t>, int>> named;
    // lower-cased service -> (name as first written, the primary incidents it affected)
    std::map<std::string, std::pair<std::string, std::set<std::int64_t>>> affected;
    for (const auto& inc : store_.incidents(true)) {
        if (days && inc.declared_at < now - Timestamp(*days) * 86'400'000) continue;
        const std::int64_t primary =
            inc.state == State::merged ? inc.merged_into.value_or(inc.number) : inc.number;
        for (const auto& factor : store_.factors(inc.number)) {
            auto& [incidents, count] = named[factor.category];
            incidents.insert(primary);
            ++count;
        }
        for (const auto& service : current_sections(store_.revisions(inc.number)).services) {
            auto& [name, incidents] = affected[to_lower(service.text)];
            if (name.empty()) name = service.text;
            incidents.insert(primary);
        }
        if (inc.state == State::merged) continue;  // counted with its primary
        ++s.total;
        if (inc.is_open()) ++s.open;
        const Severity sev = inc.final_severity.value_or(inc.severity);
        ++s.by_severity[static_cast<int>(sev) - 1];
        if (inc.identified_at) identify.push_back(*inc.identified_at - inc.declared_at);
        if (inc.mitigated_at) mitigate.push_back(*inc.mitigated_at - inc.declared_at);
        if (inc.resolved_at) resolve_times.push_back(*inc.resolved_at - inc.declared_at);
        if (inc.detected_at)
            detect.push_back(std::max<Timestamp>(0, inc.declared_at - inc.detected()));
        if (is_system(inc.declared_by)) {
            if (const auto ack = acknowledged_at(inc, store_.timeline(inc.number))) {
                acknowledge.push_back(*ack - inc.declared_at);
            }
        }
        for (const auto& item : store_.actions(inc.number)) {
            if (item.status != ActionStatus::open) continue;
            ++s.open_actions;
            if (item.due && *item.due < format_time(now).substr(0, 10)) ++s.overdue_actions;
        }
    }
    s.mean_to_identify = mean(identify);
    s.median_to_identify = median(identify);
    s.mean_to_mitigate = mean(mitigate);
    s.median_to_mitigate = median(mitigate);
    s.mean_to_resolve = mean(resolve_times);
    s.median_to_resolve = median(resolve_times);
    s.mean_to_detect = mean(detect);
    s.median_to_detect = median(detect);
    s.mean_to_acknowledge = mean(acknowledge);
    s.median_to_acknowledge = median(acknowledge);
    for (const auto& [category, seen] : named) {
        s.factor_categories.push_back({category, static_cast<int>(seen.first.size()), seen.second});
    }
    for (const auto& [key, seen] : affected) {
        s.services.push_back({seen.first, static_cast<int>(seen.second.size())});
    }
    std::stable_sort(s.services.begin(), s.services.end(),
                     [](const Stats::ServiceCount& a, const Stats::ServiceCount& b) {
                         return a.incidents > b.incidents;
                     });
    std::stable_sort(s.factor_categories.begin(), s.factor_categories.end(),
                     [](const Stats::FactorCount& a, const Stats::FactorCount& b) {
                         return a.incidents != b.incidents ? a.incidents > b.incidents
                                                           : a.factors > b.factors;
                     });
    return s;
}

}  // namespace incident
