#include "bot/status_page.hpp"

#include <algorithm>
#include <set>

#include "bot/people.hpp"
#include "bot/text.hpp"

namespace incident {

namespace {

constexpr std::size_t k_max_status_text = 2'000;

bool publishes(Role role) {
    return role == Role::commander || role == Role::comms || role == Role::liaison;
}

// The caller may publish, or learns who can.
void require_publisher(Store& store, const Incident& incident, const Actor& by) {
    std::string holders;
    for (const auto& r : store.roles(incident.number)) {
        if (!publishes(r.role)) continue;
        if (same_person(r.person, by)) return;
        holders += (holders.empty() ? "" : ", ") + mention(r.person) + " (" +
                   std::string(to_string(r.role)) + ")";
    }
    throw DomainError("Only the commander, comms and liaison of " + incident.key() +
                      " may publish to the status page; nothing was published. " +
                      (holders.empty()
                           ? std::string("Nobody holds those roles yet: take one with `/incident "
                                         "role comms`.")
                           : "Ask " + holders + "."));
}

void require_publishable(const Incident& incident) {
    if (incident.state == State::merged) {
        throw DomainError(incident.key() + " was merged into " +
                          incident_key(incident.merged_into.value_or(0)) +
                          ": publish on that incident; nothing was published.");
    }
}

PublicState current_state(Store& store, std::int64_t incident) {
    const auto published = store.status_messages(incident);
    return published.empty() ? PublicState::investigating : published.back().state;
}

}  // namespace

StatusMessage IncidentService::publish_status(Incident& incident, std::optional<PublicState> state,
                                              const std::string& text, const Actor& by,
                                              Timestamp at) {
    require_publishable(incident);
    require_publisher(store_, incident, by);
    const std::string clean(trim(text));
    if (!is_valid_utf8(clean)) {
        throw DomainError(
            "The status page message is not valid UTF-8 text; nothing was published.");
    }
    if (clean.size() > k_max_status_text) {
        throw DomainError("A status page message is at most " + std::to_string(k_max_status_text) +
                          " bytes; nothing was published.");
    }
    const PublicState before = current_state(store_, incident.number);
    if (clean.empty() && (!state || *state == before)) {
        if (!state || store_.status_messages(incident.number).empty()) {
            throw DomainError(
                "Write the message for customers: `/incident statuspage <message>`; nothing was "
                "published.");
        }
        throw DomainError("The status page already says " + std::string(describe(*state)) +
                          " for " + incident.key() + "; nothing changed.");
    }
    StatusMessage message;
    message.incident = incident.number;
    message.state = state.value_or(before);
    message.text = clean;
    message.by = by;
    message.at = at;
    store_.add_status_message(message);
    std::string entry = "Status page (" + std::string(describe(message.state)) + ")";
    entry += clean.empty() ? ": state changed" : ": " + clean;
    record(incident, EntryKind::external, by, at, entry);
    // For an external status page (Statuspage): only the published words travel.
    Notify event = notify_event(incident, NotifyKind::status_page, by, at, clean);
    event.public_state = message.state;
    queue(std::move(event), incident.number);
    return message;
}

ComponentState IncidentService::set_component(Incident& incident, const std::string& name,
                                              ComponentStatus status, const Actor& by,
                                              Timestamp at) {
    const auto& names = options_.status_components;
    if (names.empty()) {
        throw DomainError(
            "The status page has no components: set INCIDENT_BOT_STATUS_COMPONENTS (e.g. "
            "\"API, Dashboard\"); nothing changed.");
    }
    const std::string wanted = to_lower(trim(name));
    const auto known = std::find_if(names.begin(), names.end(),
                                    [&](const std::string& n) { return to_lower(n) == wanted; });
    if (known == names.end()) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        throw DomainError("`" + truncate_utf8(trim(name), 60) +
                          "` is not a component of the status page: use one of " + list +
                          "; nothing changed.");
    }
    require_publishable(incident);
    require_publisher(store_, incident, by);
    for (const auto& c : store_.components()) {
        if (c.name == *known && c.status == status) {
            throw DomainError(*known + " is already " + to_lower(describe(status)) +
                              " on the status page; nothing changed.");
        }
    }
    ComponentState component{*known, status, incident.number, by, at};
    store_.set_component(component);
    record(incident, EntryKind::external, by, at,
           "Status page: " + *known + " is now " + to_lower(describe(status)));
    Notify event = notify_event(incident, NotifyKind::component, by, at,
                                *known + " is now " + to_lower(describe(status)));
    event.component = *known;
    event.component_status = status;
    queue(std::move(event), incident.number);
    return component;
}

std::string IncidentService::status_link() const {
    if (options_.public_url.empty()) return {};
    std::string base = options_.public_url;
    if (!base.ends_with('/')) base += '/';
    return base + "status";
}

std::vector<StatusMessage> IncidentService::status_messages(std::int64_t number) {
    return store_.status_messages(number);
}

std::vector<StatusMessage> IncidentService::status_messages_since(Timestamp since) {
    return store_.status_messages_since(since);
}

std::vector<ComponentState> IncidentService::components() {
    const auto stored = store_.components();
    std::vector<ComponentState> out;
    for (const auto& name : options_.status_components) {
        const auto it = std::find_if(stored.begin(), stored.end(),
                                     [&](const ComponentState& c) { return c.name == name; });
        if (it != stored.end()) {
            out.push_back(*it);
        } else {
            out.push_back(ComponentState{name, ComponentStatus::operational, std::nullopt, {}, 0});
        }
    }
    return out;
}

PublicStatus public_status(IncidentService& service, Timestamp now, int days) {
    PublicStatus status;
    for (const auto& c : service.components()) {
        status.components.push_back({c.name, c.status, c.at});
        status.updated = std::max(status.updated, c.at);
    }
    const Timestamp since = now - Timestamp(days) * 86'400'000;
    std::set<std::int64_t> seen;
    for (const auto& recent : service.status_messages_since(since)) {
        if (!seen.insert(recent.incident).second) continue;
        const auto published = service.status_messages(recent.incident);
        const bool has_text = std::any_of(published.begin(), published.end(),
                                          [](const StatusMessage& m) { return !m.text.empty(); });
        if (!has_text) continue;
        PublicIncident inc;
        inc.id = published.front().id;
        inc.state = published.back().state;
        inc.started = published.front().at;
        inc.updated = published.back().at;
        for (auto it = published.rbegin(); it != published.rend(); ++it) {
            inc.updates.push_back({it->id, it->state, it->text, it->at});
        }
        status.updated = std::max(status.updated, inc.updated);
        (inc.state == PublicState::resolved ? status.past : status.current).push_back(inc);
    }
    const auto newest_first = [](const PublicIncident& a, const PublicIncident& b) {
        return a.updated != b.updated ? a.updated > b.updated : a.id > b.id;
    };
    std::sort(status.current.begin(), status.current.end(), newest_first);
    std::sort(status.past.begin(), status.past.end(), newest_first);
    return status;
}

}  // namespace incident
