#include "bot/outbox.hpp"

#include <nlohmann/json.hpp>

#include "bot/store.hpp"

namespace incident {

using nlohmann::json;

namespace {

json actor_json(const Actor& a) {
    return json{{"id", a.id}, {"name", a.name}};
}

Actor actor_from(const json& j) {
    if (!j.is_object()) return {};
    return Actor{j.value("id", std::string()), j.value("name", std::string())};
}

json destination_json(const Destination& to) {
    if (const auto* c = std::get_if<ToChannel>(&to)) {
        return json{{"type", "channel"}, {"channel_id", c->channel_id}};
    }
    if (const auto* i = std::get_if<ToIncident>(&to)) {
        return json{{"type", "incident"}, {"number", i->number}};
    }
    if (const auto* u = std::get_if<ToUser>(&to)) {
        return json{{"type", "user"}, {"who", actor_json(u->who)}};
    }
    return json{{"type", "announcements"}};
}

std::optional<Destination> destination_from(const json& j) {
    if (!j.is_object()) return std::nullopt;
    const std::string type = j.value("type", std::string());
    if (type == "channel") return ToChannel{j.value("channel_id", std::string())};
    if (type == "incident") return ToIncident{j.value("number", std::int64_t{0})};
    if (type == "user") return ToUser{actor_from(j.value("who", json::object()))};
    if (type == "announcements") return ToAnnouncements{};
    return std::nullopt;
}

std::optional<NotifyKind> parse_notify_kind(std::string_view text) {
    for (const NotifyKind k :
         {NotifyKind::declared, NotifyKind::severity, NotifyKind::state, NotifyKind::update,
          NotifyKind::resolved, NotifyKind::merged, NotifyKind::postmortem_published,
          NotifyKind::closed, NotifyKind::status_page, NotifyKind::component}) {
        if (to_string(k) == text) return k;
    }
    return std::nullopt;
}

json notify_json(const Notify& n) {
    json j{{"kind", to_string(n.kind)},
           {"number", n.number},
           {"key", n.key},
           {"title", n.title},
           {"severity", to_string(n.severity)},
           {"final_severity", nullptr},
           {"state", to_string(n.state)},
           {"merged_into", nullptr},
           {"platform", n.platform},
           {"channel_name", n.channel_name},
           {"by", actor_json(n.by)},
           {"text", n.text},
           {"link", n.link},
           {"postmortem_link", n.postmortem_link},
           {"at", n.at}};
    if (n.final_severity) j["final_severity"] = to_string(*n.final_severity);
    if (n.merged_into) j["merged_into"] = *n.merged_into;
    if (n.public_state) j["public_state"] = to_string(*n.public_state);
    if (!n.component.empty()) j["component"] = n.component;
    if (n.component_status) j["component_status"] = to_string(*n.component_status);
    return j;
}

std::optional<Notify> notify_from(const json& j) {
    Notify n;
    const auto kind = parse_notify_kind(j.value("kind", std::string()));
    const auto severity = parse_severity(j.value("severity", std::string()));
    const auto state = parse_state(j.value("state", std::string()));
    if (!kind || !severity || !state) return std::nullopt;
    n.kind = *kind;
    n.number = j.value("number", std::int64_t{0});
    n.key = j.value("key", std::string());
    n.title = j.value("title", std::string());
    n.severity = *severity;
    if (j.contains("final_severity") && j["final_severity"].is_string()) {
        n.final_severity = parse_severity(j["final_severity"].get<std::string>());
    }
    n.state = *state;
    if (j.contains("merged_into") && j["merged_into"].is_number_integer()) {
        n.merged_into = j["merged_into"].get<std::int64_t>();
    }
    n.platform = j.value("platform", std::string());
    n.channel_name = j.value("channel_name", std::string());
    n.by = actor_from(j.value("by", json::object()));
    n.text = j.value("text", std::string());
    n.link = j.value("link", std::string());
    n.postmortem_link = j.value("postmortem_link", std::string());
    n.at = j.value("at", Timestamp{0});
    if (j.contains("public_state") && j["public_state"].is_string()) {
        n.public_state = parse_public_state(j["public_state"].get<std::string>());
    }
    n.component = j.value("component", std::string());
    if (j.contains("component_status") && j["component_status"].is_string()) {
        n.component_status = parse_component_status(j["component_status"].get<std::string>());
    }
    return n;
}

// The lane of an effect: the incident it is about, when it names one.
std::int64_t incident_of(const Effect& effect, std::int64_t fallback) {
    if (const auto* c = std::get_if<CreateChannel>(&effect)) return c->incident;
    if (const auto* t = std::get_if<SetTopic>(&effect)) return t->incident;
    if (const auto* n = std::get_if<Notify>(&effect)) return n->number;
    if (const auto* r = std::get_if<RefreshSummary>(&effect)) return r->incident;
    if (const auto* f = std::get_if<FetchFile>(&effect)) return file_lane(f->incident);
    if (const auto* p = std::get_if<PostMessage>(&effect)) {
        if (const auto* i = std::get_if<ToIncident>(&p->to)) return i->number;
    }
    return fallback;
}

}  // namespace

std::string_view to_string(OutboxStatus status) {
    switch (status) {
        case OutboxStatus::pending:
            return "pending";
        case OutboxStatus::delivered:
            return "delivered";
        case OutboxStatus::failed:
            return "failed";
    }
    return "pending";
}

std::optional<OutboxStatus> parse_outbox_status(std::string_view text) {
    for (const OutboxStatus s :
         {OutboxStatus::pending, OutboxStatus::delivered, OutboxStatus::failed}) {
        if (to_string(s) == text) return s;
    }
    return std::nullopt;
}

std::int64_t OutboxCounts::failed_total() const {
    std::int64_t total = 0;
    for (const auto& f : failed) total += f.count;
    return total;
}

std::string_view kind_of(const Effect& effect) {
    if (std::holds_alternative<CreateChannel>(effect)) return "create_channel";
    if (std::holds_alternative<SetTopic>(effect)) return "topic";
    if (std::holds_alternative<Notify>(effect)) return "notify";
    if (std::holds_alternative<RefreshSummary>(effect)) return "summary";
    if (std::holds_alternative<FetchFile>(effect)) return "fetch_file";
    return "post";
}

std::string effect_to_json(const Effect& effect) {
    json j;
    if (const auto* c = std::get_if<CreateChannel>(&effect)) {
        json invite = json::array();
        for (const auto& who : c->invite) invite.push_back(actor_json(who));
        j = {{"incident", c->incident}, {"name", c->name}, {"topic", c->topic}, {"invite", invite}};
    } else if (const auto* p = std::get_if<PostMessage>(&effect)) {
        j = {{"to", destination_json(p->to)}, {"text", p->text}};
    } else if (const auto* t = std::get_if<SetTopic>(&effect)) {
        j = {{"incident", t->incident}, {"topic", t->topic}};
    } else if (const auto* n = std::get_if<Notify>(&effect)) {
        j = notify_json(*n);
    } else if (const auto* r = std::get_if<RefreshSummary>(&effect)) {
        j = {{"incident", r->incident}};
    } else if (const auto* f = std::get_if<FetchFile>(&effect)) {
        j = {{"incident", f->incident}, {"file", f->file}};
    }
    j["effect"] = kind_of(effect);
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Effect> effect_from_json(std::string_view payload) {
    const json j = json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    const std::string kind = j.value("effect", std::string());
    if (kind == "create_channel") {
        CreateChannel c;
        c.incident = j.value("incident", std::int64_t{0});
        c.name = j.value("name", std::string());
        c.topic = j.value("topic", std::string());
        for (const auto& who : j.value("invite", json::array()))
            c.invite.push_back(actor_from(who));
        return c;
    }
    if (kind == "post") {
        auto to = destination_from(j.value("to", json::object()));
        if (!to) return std::nullopt;
        return PostMessage{std::move(*to), j.value("text", std::string())};
    }
    if (kind == "topic") {
        return SetTopic{j.value("incident", std::int64_t{0}), j.value("topic", std::string())};
    }
    if (kind == "notify") {
        if (auto n = notify_from(j)) return *n;
    }
    if (kind == "summary") return RefreshSummary{j.value("incident", std::int64_t{0})};
    if (kind == "fetch_file") {
        return FetchFile{j.value("incident", std::int64_t{0}), j.value("file", std::int64_t{0})};
    }
    return std::nullopt;
}

Outbox::Outbox(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

std::size_t Outbox::add_chat_sink(const std::string& platform, std::function<void()> wake) {
    chat_sinks_.insert(platform);
    if (wake) wakers_[platform] = Waker{++registrations_, std::move(wake)};
    return registrations_;
}

std::size_t Outbox::add_notify_sink(const std::string& name, std::function<void()> wake) {
    notify_sinks_.insert(name);
    if (wake) wakers_[name] = Waker{++registrations_, std::move(wake)};
    return registrations_;
}

void Outbox::wake_written() {
    const auto written = std::move(written_);
    written_.clear();
    for (const auto& sink : written) {
        if (const auto it = wakers_.find(sink); it != wakers_.end()) it->second.wake();
    }
}

void Outbox::forget_waker(std::string_view sink, std::size_t registration) {
    const auto it = wakers_.find(sink);
    if (it != wakers_.end() && it->second.registration == registration) wakers_.erase(it);
}

void Outbox::wake_all() {
    written_.clear();
    for (const auto& [sink, waker] : wakers_) waker.wake();
}

bool Outbox::has_chat_sink(std::string_view platform) const {
    return chat_sinks_.find(platform) != chat_sinks_.end();
}

int Outbox::write(const Effect& effect, std::string_view platform, std::int64_t incident) {
    const std::int64_t lane = incident_of(effect, incident);
    std::vector<std::string> sinks;
    if (std::holds_alternative<Notify>(effect)) {
        sinks.assign(notify_sinks_.begin(), notify_sinks_.end());
    } else {
        // An effect about an incident goes to the platform the incident lives on.
        std::string where(platform);
        const bool about_incident =
            !std::holds_alternative<PostMessage>(effect) ||
            std::holds_alternative<ToIncident>(std::get<PostMessage>(effect).to);
        if (about_incident && lane != 0) {
            if (const auto inc = store_.incident(incident_of_lane(lane))) where = inc->platform;
        }
        if (where.empty()) {
            sinks.assign(chat_sinks_.begin(), chat_sinks_.end());
        } else if (has_chat_sink(where)) {
            sinks.push_back(where);
        }
    }
    const Timestamp now = clock_.now();
    if (std::holds_alternative<RefreshSummary>(effect)) {
        // A refresh renders the incident as it is when delivered: one that waits, not taken
        // by a delivery yet, covers this change too.
        std::erase_if(sinks,
                      [&](const std::string& sink) { return refresh_waiting(sink, lane, now); });
    }
    if (sinks.empty()) return 0;
    const std::string payload = effect_to_json(effect);
    for (const auto& sink : sinks) {
        OutboxEntry entry;
        entry.sink = sink;
        entry.incident = lane;
        entry.kind = std::string(kind_of(effect));
        entry.payload = payload;
        entry.result = "{}";
        entry.created_at = now;
        entry.next_attempt_at = now;
        store_.add_outbox(entry);
        written_.insert(sink);
    }
    return static_cast<int>(sinks.size());
}

bool Outbox::refresh_waiting(std::string_view sink, std::int64_t incident, Timestamp now) {
    for (const auto& e : store_.outbox_entries(sink, OutboxStatus::pending, 0, false)) {
        if (e.incident != incident || e.kind != "summary") continue;
        // Claimed: a delivery may have rendered it already, before this change.
        if (!e.claimed_until || *e.claimed_until <= now) return true;
    }
    return false;
}

int Outbox::write_now(const Effect& effect, std::string_view platform, std::int64_t incident) {
    int written = 0;
    store_.transaction([&] { written = write(effect, platform, incident); });
    return written;
}

std::vector<OutboxEntry> Outbox::pending(std::string_view sink) {
    return store_.outbox_entries(sink, OutboxStatus::pending, 0, false);
}

std::optional<OutboxEntry> Outbox::entry(std::int64_t id) {
    return store_.outbox_entry(id);
}

void Outbox::save(const OutboxEntry& entry) {
    store_.update_outbox(entry);
}

bool Outbox::claim(OutboxEntry& entry) {
    const Timestamp now = clock_.now();
    if (!store_.claim_outbox(entry.id, owner_, now, now + k_claim_ms)) return false;
    entry.claimed_by = owner_;
    entry.claimed_until = now + k_claim_ms;
    return true;
}

std::vector<OutboxEntry> Outbox::claim_heads(std::string_view sink, std::size_t limit) {
    const Timestamp now = clock_.now();
    return store_.claim_outbox_heads(sink, owner_, now, now + k_claim_ms, limit);
}

std::vector<OutboxEntry> Outbox::failed(std::size_t limit) {
    return store_.outbox_entries("", OutboxStatus::failed, limit, true);
}

bool Outbox::retry(std::int64_t id) {
    bool retried = false;
    store_.transaction([&] {
        auto entry = store_.outbox_entry(id);
        if (!entry || entry->status != OutboxStatus::failed) return;
        entry->status = OutboxStatus::pending;
        entry->next_attempt_at = clock_.now();
        // A fresh retry window, counted from the operator's decision.
        entry->created_at = clock_.now();
        entry->done_at.reset();
        entry->attempts = 0;
        store_.update_outbox(*entry);
        // A download given up on marked its file failed; retried, the file waits for it again.
        if (const auto effect = effect_from_json(entry->payload)) {
            if (const auto* fetch = std::get_if<FetchFile>(&*effect)) {
                auto file = store_.file(fetch->file);
                if (file && file->status == FileStatus::failed) {
                    file->status = FileStatus::pending;
                    file->error.clear();
                    store_.update_file(*file);
                }
            }
        }
        retried = true;
    });
    return retried;
}

OutboxCounts Outbox::counts() {
    return store_.outbox_counts();
}

std::size_t Outbox::prune(Timestamp before, std::size_t limit) {
    std::size_t removed = 0;
    store_.transaction([&] {
        removed += store_.prune_outbox(before, limit);
        removed += store_.prune_processed(before, limit);
    });
    return removed;
}

}  // namespace incident
