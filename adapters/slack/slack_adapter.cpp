#include "adapters/slack/slack_adapter.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/file_download.hpp"
#include "adapters/net/form.hpp"
#include "adapters/net/json_parse.hpp"
#include "adapters/net/log_stopped.hpp"
#include "adapters/net/shutdown.hpp"
#include "adapters/net/url.hpp"
#include "adapters/net/websocket_client.hpp"
#include "adapters/slack/blocks.hpp"
#include "adapters/slack/decode.hpp"
#include "adapters/slack/signing.hpp"
#include "bot/announcement.hpp"
#include "bot/text.hpp"

namespace incident::slack {

namespace asio = boost::asio;
using nlohmann::json;

struct SlackAdapter::Connection {
    explicit Connection(const asio::any_io_executor& executor)
        : replaced(executor, asio::steady_timer::time_point::max()) {}
    // Shared: drain() closes it while the connection loop may let go of it.
    std::shared_ptr<net::WebSocketClient> socket;
    // A replacement opened while `socket` still runs (Slack allows several connections
    // per app token), taken by the connection loop once `socket` ends.
    std::shared_ptr<net::WebSocketClient> next;
    bool replacing = false;
    // Wakes the loop waiting on a replacement (cancelled when it is done).
    asio::steady_timer replaced;
    // stop() was called: coroutines that outlive the adapter (the silence watcher) check
    // this before touching it.
    bool stopped = false;
    // When the last connection was lost or found silent, until the next hello.
    std::optional<std::chrono::steady_clock::time_point> lost_at;
    std::string lost_why;
};

namespace {

constexpr std::size_t k_topic_limit = 250;
// Envelopes stored in one transaction at most: bounds the ack delay of the first one.
constexpr std::size_t k_max_batch = 512;
// A retry after a lost answer reads the channel's messages since its first attempt, newest
// first, this many a page (conversations.history `limit`: 15 is the most Slack serves apps
// distributed outside the Marketplace), at most this many pages.
constexpr int k_marker_page = 15;
constexpr int k_marker_pages = 8;
// Slack's clock and ours may disagree this much.
constexpr Timestamp k_marker_clock_margin_ms = 60'000;
// While storing fails, how often an empty transaction tries whether it works again.
constexpr std::chrono::milliseconds k_store_probe_interval{500};
// Web API arguments are built as named locals: GCC 12 rejects braced initializer lists
// inside co_await expressions ("array used as initializer").

json reply_payload(const Reply& reply) {
    return json{{"response_type",
                 reply.visibility == Reply::Visibility::in_channel ? "in_channel" : "ephemeral"},
                {"text", reply.text}};
}

bool looks_like_channel_id(const std::string& name) {
    if (name.size() < 9 || (name[0] != 'C' && name[0] != 'G')) return false;
    for (const char c : name) {
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    }
    return true;
}

// A user id: U or W, then capitals and digits ("U024BE7LH", "W012A3CDE").
bool looks_like_user_id(const std::string& id) {
    if (id.size() < 2 || (id[0] != 'U' && id[0] != 'W')) return false;
    return std::all_of(id.begin(), id.end(),
                       [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

// The shortcuts of deploy/slack-app-manifest.yml, by callback_id.
constexpr std::string_view k_declare_shortcut = "declare_incident";
constexpr std::string_view k_key_event_shortcut = "incident_key_event";
constexpr std::string_view k_action_item_shortcut = "incident_action_item";
// The same person pressing the same form's button again this soon is a double click.
constexpr auto k_double_click = std::chrono::seconds(2);

// A view_submission answer that keeps the modal open and shows each message under its block
// (docs.slack.dev: "Handling and responding to interactions", response_action errors).
json form_errors(const std::map<std::string, std::string>& errors) {
    json by_block = json::object();
    for (const auto& [block, message] : errors) by_block[block] = message;
    return json{{"response_action", "errors"}, {"errors", std::move(by_block)}};
}

// `/incident declare` with nothing after it.
bool is_bare_declare(const std::string& text) {
    const commands::ParsedLine line = commands::split_command(text);
    return line.name == "declare" && trim(line.rest).empty();
}

// A users_select value as the commands read a person: <@U123|name>, or <@U123> when the name
// would not stay one word.
std::string user_mention(const std::string& id, const std::string& name) {
    const bool one_word =
        !name.empty() && name != id && name.find_first_of(" \t\r\n|<>") == std::string::npos;
    return "<@" + id + (one_word ? "|" + name : "") + ">";
}

net::HttpResponse text_response(int status, std::string text) {
    return net::HttpResponse::text(status, std::move(text));
}

// On its own: the closing handshake may take a while, and holds the socket until done.
asio::awaitable<void> close_replaced(std::shared_ptr<net::WebSocketClient> socket) {
    co_await socket->close(1000, "replaced by a new connection");
}

// Slack errors that go away by themselves (api.slack.com/methods: "errors").
bool transient_error(const std::string& error) {
    return error == "ratelimited" || error == "internal_error" || error == "fatal_error" ||
           error == "service_unavailable" || error == "request_timeout";
}

// Why a call that was not ok failed, as the outbox keeps it: no answer, a 5xx, a 429 or one of
// Slack's passing errors is tried again later; any other refusal (channel_not_found,
// invalid_auth, a 4xx) stays as it is until someone retries it.
net::Delivery failure_of(const ApiResult& r, std::string_view method) {
    std::string error = std::string(method) + ": " +
                        (r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error);
    if (r.status == 0 || r.status >= 500 || r.status == 429 || transient_error(r.error)) {
        return net::Delivery::retry(std::move(error));
    }
    return net::Delivery::fail(std::move(error));
}

std::optional<net::Delivery> failed(const ApiResult& r, std::string_view method) {
    if (r.ok) return std::nullopt;
    return failure_of(r, method);
}

}  // namespace

SlackAdapter::SlackAdapter(asio::any_io_executor executor, net::TlsContext tls,
                           IncidentService& service, commands::CommandRouter& router,
                           Outbox& outbox, SlackOptions options, net::PlatformObserver* observer)
    : executor_(executor),
      tls_(tls),
      service_(service),
      router_(router),
      options_(std::move(options)),
      observer_(observer),
      http_(executor, tls, net::HttpClientOptions{options_.api_timeout}),
      api_(executor, http_, options_.api_url, options_.bot_token, observer),
      outbox_(outbox),
      effects_(executor, "slack"),
      outbox_worker_(
          executor, outbox, std::string(k_platform),
          [this](OutboxEntry& entry) { return deliver_entry(entry); }, options_.outbox, observer),
      connection_(std::make_shared<Connection>(executor)) {
    waker_ = outbox_.add_chat_sink(std::string(k_platform), [this] { outbox_worker_.wake(); });
    outbox_worker_.on_failed(
        [this](const OutboxEntry& entry) { net::fail_pending_file(service_, entry); });
}

SlackAdapter::~SlackAdapter() {
    outbox_.forget_waker(k_platform, waker_);
    stop();
}

void SlackAdapter::start() {
    effects_.start();
    outbox_worker_.start();
    if (!options_.app_token.empty()) {
        asio::co_spawn(executor_, run_socket_mode(), net::LogStopped{"slack: socket mode"});
    }
}

void SlackAdapter::stop() {
    if (stopping_.exchange(true)) return;
    if (connection_->socket) connection_->socket->abort();
    if (connection_->next) connection_->next->abort();
    connection_->stopped = true;
    connection_->replaced.cancel();
    effects_.stop();
    outbox_worker_.stop();
}

asio::awaitable<void> SlackAdapter::drain(std::chrono::steady_clock::time_point deadline) {
    draining_ = true;
    std::function<bool()> batch_done = [this] { return !in_batch_; };
    co_await net::poll_until(executor_, deadline, std::move(batch_done));
    if (auto socket = connection_->socket; socket && socket->is_open()) {
        spdlog::info("slack socket mode: closing the connection (shutting down)");
        co_await net::close_for_shutdown(executor_, socket, deadline);
    }
    co_await effects_.drain(deadline);
    co_await outbox_worker_.drain(deadline);
}

json SlackAdapter::health() const {
    json h{{"platform", "slack"},
           {"ok", options_.app_token.empty() || connected_.load()},
           {"socket_mode", !options_.app_token.empty()},
           {"http_events", !options_.signing_secret.empty()},
           {"connected", connected_.load()},
           {"reconnects", reconnects_},
           {"pending_effects", effects_.pending() + outbox_worker_.pending()}};
    if (!last_error_.empty()) h["last_error"] = last_error_;
    return h;
}

void SlackAdapter::deliver(const Effect& effect) {
    outbox_.write_now(effect, k_platform);
    outbox_worker_.wake();
}

void SlackAdapter::enqueue(Job job) {
    effects_.push([this, job = std::move(job)] { return execute(job); });
}

asio::awaitable<void> SlackAdapter::execute(const Job& job) {
    if (const auto* e = std::get_if<Ephemeral>(&job)) {
        json ephemeral = {{"channel", e->channel}, {"user", e->user}, {"text", e->text}};
        co_await api_.call("chat.postEphemeral", std::move(ephemeral));
        co_return;
    }
    const net::Delivery d = co_await post(std::get<PostMessage>(job));
    if (d.status != net::Delivery::Status::delivered) {
        spdlog::error("slack: a reply was not posted: {}", d.error);
    }
}

asio::awaitable<net::Delivery> SlackAdapter::deliver_entry(OutboxEntry& entry) {
    const auto effect = effect_from_json(entry.payload);
    if (!effect) co_return net::Delivery::fail("this incident-bot cannot read the stored effect");
    if (const auto* create = std::get_if<CreateChannel>(&*effect)) {
        co_return co_await create_channel(*create, entry);
    }
    if (const auto* message = std::get_if<PostMessage>(&*effect)) {
        co_return co_await post(*message, &entry);
    }
    if (const auto* topic = std::get_if<SetTopic>(&*effect)) co_return co_await set_topic(*topic);
    if (const auto* refresh = std::get_if<RefreshSummary>(&*effect)) {
        co_return co_await refresh_summary(*refresh);
    }
    if (const auto* fetch = std::get_if<FetchFile>(&*effect)) co_return co_await fetch_file(*fetch);
    co_return net::Delivery::done();  // a Notify is for email and webhooks
}

bool SlackAdapter::may_send_token(const std::string& url) const {
    const auto target = net::Url::parse(url);
    const auto api = net::Url::parse(options_.api_url);
    if (!target) return false;
    if (api && target->host == api->host && target->port == api->port) return true;
    // Files live on files.slack.com; the token goes to Slack's own hosts over TLS only.
    return target->tls() && (target->host == "slack.com" || target->host.ends_with(".slack.com"));
}

asio::awaitable<net::Delivery> SlackAdapter::fetch_file(const FetchFile& fetch) {
    auto file = service_.file(fetch.file);
    if (!file || file->status != FileStatus::pending) co_return net::Delivery::done();
    if (file->source_url.empty()) {
        // Announced by file_shared (its id only), or not ready when the message came
        // (file_access "check_file_info"): files.info has it.
        net::FormFields query{{"file", file->source_id}};
        const ApiResult r = co_await api_.call_form("files.info", std::move(query));
        if (!r.ok) {
            if (const auto failure = failed(r, "files.info")) {
                if (failure->status == net::Delivery::Status::permanent) {
                    service_.file_failed(file->id, failure->error);
                }
                co_return *failure;
            }
        }
        const json& f = r.body.value("file", json::object());
        SharedFile info;
        info.name = f.value("name", std::string());
        info.mime_type = f.value("mimetype", std::string());
        if (const auto size = f.find("size"); size != f.end() && size->is_number_integer()) {
            info.size = std::max<std::int64_t>(0, size->get<std::int64_t>());
        }
        info.url = f.value("url_private_download", f.value("url_private", std::string()));
        *file = service_.describe_file(file->id, info);
        if (file->status != FileStatus::pending) co_return net::Delivery::done();
        if (file->source_url.empty()) {
            service_.file_failed(file->id, "Slack gave no url_private_download for it");
            co_return net::Delivery::fail("file " + file->name + " has no download URL");
        }
    }
    if (!may_send_token(file->source_url)) {
        service_.file_failed(file->id, "not a Slack URL: the bot token is not sent there");
        co_return net::Delivery::fail("file " + file->name + " is not on a Slack host");
    }
    net::HttpRequest request;
    request.url = file->source_url;
    request.headers.set("Authorization", "Bearer " + options_.bot_token);
    co_return co_await net::download_file(executor_, tls_, service_, *file, std::move(request));
}

json SlackAdapter::summary_message(const Incident& inc) {
    return json{{"text", inc.key() + " (" + std::string(to_string(inc.severity)) + ", " +
                             std::string(to_string(inc.state)) + "): " + inc.title},
                {"blocks", incident_summary_blocks(service_.summary_facts(inc))}};
}

// The summary in the incident's channel and the first announcement, each where it was posted
// earlier in this lane; one that was never posted has nothing to keep current. Both are tried
// (one deleted by hand does not freeze the other); the first failure is the entry's.
asio::awaitable<net::Delivery> SlackAdapter::refresh_summary(const RefreshSummary& refresh) {
    const auto inc = service_.find(refresh.incident);
    if (!inc || inc->platform != k_platform) co_return net::Delivery::done();
    std::optional<net::Delivery> trouble;
    if (auto live = service_.live_message(inc->number, k_platform)) {
        trouble = co_await refresh_live(std::move(*live), summary_message(*inc));
    }
    if (auto live = service_.live_message(inc->number, k_platform, k_announcement)) {
        const std::string text = announcement_text(service_.summary_facts(*inc));
        auto announced = co_await refresh_live(std::move(*live), text_message(text));
        if (!trouble) trouble = std::move(announced);
    }
    co_return trouble.value_or(net::Delivery::done());
}

// chat.update of one live message, skipped when it already shows `message`.
asio::awaitable<std::optional<net::Delivery>> SlackAdapter::refresh_live(LiveMessage live,
                                                                         json message) {
    const std::string rendered = message.dump();
    if (rendered == live.rendered) co_return std::nullopt;
    message["channel"] = live.channel_id;
    message["ts"] = live.message_id;
    const ApiResult r = co_await api_.call("chat.update", std::move(message));
    if (auto trouble = failed(r, "chat.update")) co_return trouble;
    live.rendered = rendered;
    live.updated_at = service_.now();
    service_.save_live_message(live);
    co_return std::nullopt;
}

asio::awaitable<net::Delivery> SlackAdapter::set_topic(const SetTopic& topic) {
    const auto inc = service_.find(topic.incident);
    // No channel yet: its creation sets the topic of that moment.
    if (!inc || inc->channel_id.empty() || inc->platform != k_platform) {
        co_return net::Delivery::done();
    }
    json topic_args = {{"channel", inc->channel_id},
                       {"topic", topic.topic.substr(0, k_topic_limit)}};
    const ApiResult r = co_await api_.call("conversations.setTopic", std::move(topic_args));
    co_return failed(r, "conversations.setTopic").value_or(net::Delivery::done());
}

// Each step is recorded in the entry's result once done, so a retry or a restart resumes
// after it: the channel (created or adopted), the invitations, the topic, the summary.
asio::awaitable<net::Delivery> SlackAdapter::create_channel(const CreateChannel& create,
                                                            OutboxEntry& entry) {
    json progress = net::progress_of(entry);
    const auto save = [&] {
        entry.result = progress.dump();
        outbox_.save(entry);
    };
    auto inc = service_.find(create.incident);
    if (!inc) co_return net::Delivery::fail(incident_key(create.incident) + " does not exist");
    std::string id = progress.value("channel", std::string());
    std::string name = progress.value("name", std::string());
    if (id.empty() && inc->platform == k_platform && !inc->channel_id.empty()) {
        id = inc->channel_id;  // bound before the process stopped
        name = inc->channel_name;
    }
    if (id.empty()) {
        name = create.name;
        for (int attempt = 2; attempt <= 10 && id.empty(); ++attempt) {
            // Remembered before the call: if its answer is lost (a crash), the channel that
            // is then found under this name is ours.
            json tried = progress.value("tried", json::array());
            if (std::find(tried.begin(), tried.end(), name) == tried.end()) {
                tried.push_back(name);
                progress["tried"] = tried;
                save();
            }
            json create_args = {{"name", name}};
            const ApiResult r = co_await api_.call("conversations.create", std::move(create_args));
            if (r.ok) {
                id = r.object_at("channel").value("id", std::string());
                break;
            }
            if (r.error != "name_taken") co_return failure_of(r, "conversations.create");
            const auto lookup = co_await find_channel(name);
            if (lookup.second) co_return *lookup.second;
            const json& found = lookup.first;
            const ChannelLookup me = co_await bot_user_id();
            if (me.id.empty()) co_return me.failure;
            // Ours: created by this bot after this effect was written, under a name it asked for.
            const bool ours =
                found.is_object() && found.value("creator", std::string()) == me.id &&
                found.value("created", std::int64_t{0}) * 1000 >= entry.created_at - 60'000;
            if (ours) {
                id = found.value("id", std::string());
                spdlog::info(
                    "slack: adopting #{} ({}) as the channel of {}: created by an "
                    "earlier attempt",
                    name, id, incident_key(create.incident));
                break;
            }
            name = create.name + "-" + std::to_string(attempt);  // an old channel has the name
        }
        if (id.empty()) {
            co_return net::Delivery::fail("conversations.create: every name from " + create.name +
                                          " to " + name + " is taken");
        }
        service_.bind_channel(create.incident, std::string(k_platform), id, name);
        progress["channel"] = id;
        progress["name"] = name;
        save();
    }
    if (!progress.value("invited", false)) {
        std::string users;
        for (const auto& who : create.invite) {
            if (who.id.empty()) continue;
            users += (users.empty() ? "" : ",") + who.id;
        }
        if (!users.empty()) {
            json invite_args = {{"channel", id}, {"users", users}};
            const ApiResult r = co_await api_.call("conversations.invite", std::move(invite_args));
            // Already a member (a repeated attempt) is what was asked for.
            if (!r.ok && r.error != "already_in_channel" && r.error != "cant_invite_self") {
                co_return failure_of(r, "conversations.invite");
            }
        }
        progress["invited"] = true;
        save();
    }
    inc = service_.find(create.incident);
    if (!inc) co_return net::Delivery::fail(incident_key(create.incident) + " does not exist");
    if (!progress.value("topic", false)) {
        // The topic of now: the incident may have changed since it was declared.
        json topic_args = {{"channel", id},
                           {"topic", service_.topic_for(*inc).substr(0, k_topic_limit)}};
        const ApiResult r = co_await api_.call("conversations.setTopic", std::move(topic_args));
        if (auto trouble = failed(r, "conversations.setTopic")) co_return *trouble;
        progress["topic"] = true;
        save();
    }
    if (!progress.value("summary", false)) {
        json summary = summary_message(*inc);
        const std::string rendered = summary.dump();
        summary["channel"] = id;
        const MarkedPost posted =
            co_await post_marked(entry, progress, "summary_sent", std::move(summary));
        if (posted.lookup_failed) co_return *posted.lookup_failed;
        const ApiResult& r = posted.result;
        if (auto trouble = failed(r, "chat.postMessage")) co_return *trouble;
        // Where it is, kept for chat.update: the refreshes later in this lane need it.
        const std::string ts = r.body.value("ts", std::string());
        if (!ts.empty()) {
            service_.save_live_message(LiveMessage{inc->number, std::string(k_platform), "summary",
                                                   r.body.value("channel", id), ts, rendered,
                                                   service_.now()});
        }
        progress["summary"] = true;
        save();
    }
    if (!progress.value("pinned", false)) {
        if (const auto live = service_.live_message(inc->number, k_platform)) {
            json pin_args = {{"channel", live->channel_id}, {"timestamp", live->message_id}};
            const ApiResult r = co_await api_.call("pins.add", std::move(pin_args));
            // A repeated attempt finds it pinned: what was asked for.
            if (!r.ok && r.error != "already_pinned") co_return failure_of(r, "pins.add");
        }
        progress["pinned"] = true;
        save();
    }
    co_return net::Delivery::done();
}

asio::awaitable<net::Delivery> SlackAdapter::post(const PostMessage& message, OutboxEntry* entry) {
    ChannelLookup channel;
    const bool direct = std::holds_alternative<ToUser>(message.to);
    if (const auto* c = std::get_if<ToChannel>(&message.to)) channel.id = c->channel_id;
    if (const auto* i = std::get_if<ToIncident>(&message.to)) {
        const auto inc = service_.find(i->number);
        if (!inc || inc->platform != k_platform) {
            co_return net::Delivery::fail(incident_key(i->number) + " has no Slack channel");
        }
        // Its creation comes first in the same lane; until it is done, wait.
        if (inc->channel_id.empty()) {
            co_return net::Delivery::retry(inc->key() + " has no channel yet");
        }
        channel.id = inc->channel_id;
    }
    if (std::holds_alternative<ToAnnouncements>(message.to))
        channel = co_await announce_channel_id();
    if (const auto* u = std::get_if<ToUser>(&message.to)) {
        channel = co_await direct_channel_id(u->who.id);
    }
    if (channel.id.empty()) co_return channel.failure;
    json args = text_message(message.text);
    args["channel"] = channel.id;
    const std::string rendered = args.dump();
    json progress = entry ? net::progress_of(*entry) : json::object();
    MarkedPost posted;
    // A second time only after joining a public channel the bot was not in.
    for (bool joined = false;;) {
        if (entry) {
            posted = co_await post_marked(*entry, progress, "sent", args);
        } else {
            posted.result = co_await api_.call("chat.postMessage", args);
        }
        if (posted.lookup_failed) co_return *posted.lookup_failed;
        if (joined || direct || posted.result.ok || posted.result.error != "not_in_channel") break;
        json join_args = {{"channel", channel.id}};
        const ApiResult join = co_await api_.call("conversations.join", std::move(join_args));
        if (!join.ok) co_return failure_of(join, "conversations.join");
        joined = true;
    }
    const ApiResult& r = posted.result;
    if (auto trouble = failed(r, "chat.postMessage")) co_return *trouble;
    remember_first_announcement(service_, entry ? entry->incident : 0, k_platform, message,
                                channel.id, r.body.value("ts", std::string()), rendered);
    co_return net::Delivery::done();
}

asio::awaitable<SlackAdapter::MarkedPost> SlackAdapter::post_marked(OutboxEntry& entry,
                                                                    json& progress,
                                                                    const std::string& step,
                                                                    json args) {
    const auto save = [&] {
        entry.result = progress.dump();
        outbox_.save(entry);
    };
    const std::string channel = args.value("channel", std::string());
    const std::string sent_at = step + "_at";
    MarkedPost out;
    if (progress.value(step, false)) {
        // An earlier attempt sent it and saw no answer (a dropped connection, a crash, a 5xx):
        // Slack may have made the message. Whatever it made since then carries the marker.
        const Timestamp first_sent = progress.value(sent_at, entry.created_at);
        const Timestamp not_before = first_sent - k_marker_clock_margin_ms;
        const ChannelLookup me = co_await bot_user_id();
        if (me.id.empty()) {
            out.lookup_failed = me.failure;
            co_return out;
        }
        std::string cursor;
        for (int page = 0; page < k_marker_pages; ++page) {
            net::FormFields query{
                {"channel", channel},
                {"limit", std::to_string(k_marker_page)},
                {"oldest", std::to_string(std::max<Timestamp>(0, not_before) / 1000)},
                {"include_all_metadata", "true"}};
            if (!cursor.empty()) query.emplace_back("cursor", cursor);
            const ApiResult read = co_await api_.call_form("conversations.history", query);
            if (!read.ok) {
                net::Delivery why = failure_of(read, "conversations.history");
                if (why.status == net::Delivery::Status::transient) {
                    out.lookup_failed = std::move(why);  // looked for again with the next attempt
                    co_return out;
                }
                // Unreadable for good: posting again risks a repeat, not posting loses the post.
                spdlog::warn("slack: cannot look for outbox entry {} in {} ({}); posting it",
                             entry.id, channel, why.error);
                break;
            }
            json found = marked_message(read.body, entry.id, me.id, not_before);
            if (!found.is_null()) {
                const std::string ts = found.value("ts", std::string());
                spdlog::info(
                    "slack: message {} of outbox entry {} was made by an earlier attempt whose "
                    "answer was lost; not posting it again",
                    ts, entry.id);
                // What chat.postMessage would have answered.
                out.result = read;
                out.result.body =
                    json{{"ok", true}, {"channel", channel}, {"ts", ts}, {"message", found}};
                out.found = true;
                co_return out;
            }
            cursor = read.object_at("response_metadata").value("next_cursor", std::string());
            if (cursor.empty()) break;
        }
    } else {
        // Recorded before the call: if its answer is lost, the next attempt looks first.
        progress[step] = true;
        progress[sent_at] = service_.now();
        save();
    }
    args["metadata"] = outbox_metadata(entry.id);
    out.result = co_await api_.call_once("chat.postMessage", std::move(args));
    // Slack answered that it made nothing (channel_not_found, not_in_channel): nothing to look
    // for next time. Its passing errors (fatal_error: "some aspect may have succeeded") are
    // not such an answer.
    const bool refused = out.result.status > 0 && out.result.status < 500 && !out.result.ok &&
                         out.result.body.is_object() && !transient_error(out.result.error);
    if (refused) {
        progress.erase(step);
        progress.erase(sent_at);
        save();
    }
    co_return out;
}

asio::awaitable<std::pair<json, std::optional<net::Delivery>>> SlackAdapter::find_channel(
    const std::string& name) {
    std::string cursor;
    do {
        net::FormFields args{
            {"types", "public_channel"}, {"exclude_archived", "true"}, {"limit", "200"}};
        if (!cursor.empty()) args.emplace_back("cursor", cursor);
        const ApiResult r = co_await api_.call_form("conversations.list", args);
        if (!r.ok) co_return std::pair{json(), failure_of(r, "conversations.list")};
        for (const auto& c : r.body.value("channels", json::array())) {
            if (c.value("name", std::string()) == name) co_return std::pair{c, std::nullopt};
        }
        cursor =
            r.body.value("response_metadata", json::object()).value("next_cursor", std::string());
    } while (!cursor.empty());
    co_return std::pair{json(), std::nullopt};
}

asio::awaitable<SlackAdapter::ChannelLookup> SlackAdapter::announce_channel_id() {
    if (!announce_id_.empty()) co_return ChannelLookup{announce_id_, {}};
    const std::string& name = options_.announce_channel;
    if (looks_like_channel_id(name)) co_return ChannelLookup{announce_id_ = name, {}};
    const auto lookup = co_await find_channel(name);
    if (lookup.second) co_return ChannelLookup{{}, *lookup.second};
    const json& found = lookup.first;
    if (found.is_object()) {
        const std::string id = found.value("id", std::string());
        if (!found.value("is_member", false)) {
            json join_args = {{"channel", id}};
            const ApiResult joined = co_await api_.call("conversations.join", std::move(join_args));
            if (!joined.ok) co_return ChannelLookup{{}, failure_of(joined, "conversations.join")};
        }
        co_return ChannelLookup{announce_id_ = id, {}};
    }
    json create_args = {{"name", name}};
    const ApiResult created = co_await api_.call("conversations.create", std::move(create_args));
    if (!created.ok) {
        spdlog::error(
            "slack conversations.create: announcement channel #{} not found and not "
            "created: {}",
            name, created.error);
        co_return ChannelLookup{{}, failure_of(created, "conversations.create")};
    }
    announce_id_ = created.object_at("channel").value("id", std::string());
    spdlog::info("slack conversations.create: created the announcement channel #{}", name);
    co_return ChannelLookup{announce_id_, {}};
}

// A user ID is not a conversation: conversations.open (scope im:write) opens or resumes the
// bot's IM with that user and returns its D... id, which chat.postMessage then takes.
asio::awaitable<SlackAdapter::ChannelLookup> SlackAdapter::direct_channel_id(
    const std::string& user_id) {
    if (const auto it = direct_channels_.find(user_id); it != direct_channels_.end()) {
        co_return ChannelLookup{it->second, {}};
    }
    if (user_id.empty()) co_return ChannelLookup{{}, net::Delivery::fail("no user to write to")};
    std::string user = user_id;
    if (!looks_like_user_id(user_id)) {
        const ChannelLookup found = co_await user_id_named(user_id);
        if (found.id.empty()) co_return found;
        user = found.id;
    }
    json open_args = {{"users", user}};
    const ApiResult r = co_await api_.call("conversations.open", std::move(open_args));
    std::string id;
    if (r.ok) id = r.object_at("channel").value("id", std::string());
    if (id.empty()) co_return ChannelLookup{{}, failure_of(r, "conversations.open")};
    direct_channels_[user_id] = id;  // not cached on failure: tried again
    co_return ChannelLookup{id, {}};
}

asio::awaitable<SlackAdapter::ChannelLookup> SlackAdapter::user_id_named(const std::string& name) {
    const std::string wanted = to_lower(name.starts_with('@') ? name.substr(1) : name);
    std::string cursor;
    // docs.slack.dev/reference/methods/users.list: pages of `members` (each with `id`, `name`,
    // `deleted`, `profile.display_name`) and `response_metadata.next_cursor`.
    for (int page = 0; page < 100; ++page) {
        net::FormFields query{{"limit", "200"}};
        if (!cursor.empty()) query.emplace_back("cursor", cursor);
        const ApiResult r = co_await api_.call_form("users.list", std::move(query));
        if (!r.ok) co_return ChannelLookup{{}, failure_of(r, "users.list")};
        const json& members = r.body.contains("members") ? r.body["members"] : json::array();
        for (const auto& m : members) {
            if (!m.is_object() || m.value("deleted", false)) continue;
            const json& profile =
                m.contains("profile") && m["profile"].is_object() ? m["profile"] : json::object();
            if (to_lower(m.value("name", "")) == wanted ||
                to_lower(profile.value("display_name", "")) == wanted) {
                const std::string id = m.value("id", std::string());
                if (!id.empty()) co_return ChannelLookup{id, {}};
            }
        }
        cursor = r.object_at("response_metadata").value("next_cursor", std::string());
        if (cursor.empty()) break;
    }
    co_return ChannelLookup{{}, net::Delivery::fail("there is no Slack user @" + wanted)};
}

asio::awaitable<SlackAdapter::ChannelLookup> SlackAdapter::bot_user_id() {
    if (!bot_user_id_.empty()) co_return ChannelLookup{bot_user_id_, {}};
    const ApiResult r = co_await api_.call_form("auth.test", net::FormFields());
    if (r.ok) bot_user_id_ = r.body.value("user_id", std::string());
    if (bot_user_id_.empty()) co_return ChannelLookup{{}, failure_of(r, "auth.test")};
    co_return ChannelLookup{bot_user_id_, {}};
}

asio::awaitable<std::string> SlackAdapter::display_name(const std::string& user_id) {
    if (const auto it = names_.find(user_id); it != names_.end()) co_return it->second;
    net::FormFields query{{"user", user_id}};
    const ApiResult r = co_await api_.call_form("users.info", std::move(query));
    if (!r.ok) co_return user_id;  // not cached: the next message tries again
    const json& user = r.object_at("user");
    const auto profile = user.find("profile");
    std::string name = profile != user.end() && profile->is_object()
                           ? profile->value("display_name", std::string())
                           : std::string();
    if (name.empty()) name = user.value("real_name", std::string());
    if (name.empty()) name = user.value("name", user_id);
    names_[user_id] = name;
    co_return name;
}

asio::awaitable<std::optional<ChatEvent>> SlackAdapter::prepare_event(const json& payload) {
    DecodedEvent decoded = decode_event_callback(payload);
    if (!decoded.malformed.empty()) {
        spdlog::warn("slack: ignoring malformed event: {}", decoded.malformed);
        co_return std::nullopt;
    }
    if (!decoded.event) {
        spdlog::debug("slack: ignoring event: {}", decoded.ignored);
        co_return std::nullopt;
    }
    // Chatter outside incident channels is none of our business: no lookups, no writes.
    if (!service_.find_by_channel(std::string(k_platform), header_of(*decoded.event).channel_id)) {
        co_return std::nullopt;
    }
    if (auto* posted = std::get_if<MessagePosted>(&*decoded.event)) {
        posted->author.name = co_await display_name(posted->author.id);
    }
    if (auto* reaction = std::get_if<ReactionChanged>(&*decoded.event)) {
        reaction->actor.name = co_await display_name(reaction->actor.id);
    }
    if (auto* shared = std::get_if<FileShared>(&*decoded.event)) {
        shared->by.name = co_await display_name(shared->by.id);
    }
    co_return decoded.event;
}

// Its effects are in the outbox: the worker delivers them once the batch has committed.
void SlackAdapter::store_event(const ChatEvent& event) {
    const Outcome outcome = service_.handle_event(event);
    if (!outcome.reply.ok) spdlog::warn("slack: event refused: {}", outcome.reply.text);
}

json SlackAdapter::process_command(const json& payload) {
    const auto request = decode_slash_command(payload, service_.now());
    if (!request) {
        spdlog::warn("slack: slash command without user_id or channel_id");
        return json{{"response_type", "ephemeral"},
                    {"text", "incident-bot could not read this command (no user or channel)."}};
    }
    // Alone, `declare` opens the declare form (a slash command's trigger_id is its request id).
    if (!request->request_id.empty() && is_bare_declare(request->text)) {
        open_form(commands::make_form(commands::FormId::declare),
                  FormContext{std::string(to_string(commands::FormId::declare)), std::nullopt,
                              request->channel_id},
                  request->request_id, request->caller);
        return json();
    }
    return reply_payload(router_.dispatch(*request).reply);
}

void SlackAdapter::process_action(const json& payload, std::vector<Job>& jobs) {
    const auto request = decode_block_action(payload, service_.now());
    if (!request) return;
    reply_later(*request, router_.dispatch(*request), jobs);
}

std::optional<commands::Form> SlackAdapter::incident_form(commands::FormId id,
                                                          std::int64_t incident,
                                                          std::string& why_not) {
    const auto inc = service_.find(incident);
    if (!inc) {
        why_not = incident_key(incident) + " does not exist.";
        return std::nullopt;
    }
    commands::Form form = commands::make_form(id, &*inc);
    for (const auto& f : form.fields) {
        if (f.kind == commands::FieldKind::select && !f.optional && f.options.empty()) {
            why_not = inc->key() + " is " + std::string(to_string(inc->state)) + ": there is no " +
                      to_lower(f.label) + " to choose.";
            return std::nullopt;
        }
    }
    return form;
}

void SlackAdapter::open_form(const commands::Form& form, const FormContext& context,
                             const std::string& trigger_id, const Actor& user, bool redelivered) {
    if (redelivered) {
        // The first delivery opened it, or the trigger has expired since.
        spdlog::info("slack: the {} form for {} was asked for again (redelivered): not reopened",
                     context.form, user.id);
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(opened_forms_, [&](const auto& e) { return now - e.second >= k_double_click; });
    const std::string key = user.id + "/" + context.form + "/" +
                            (context.incident ? std::to_string(*context.incident) : "");
    if (!opened_forms_.emplace(key, now).second) {
        spdlog::info("slack: {} asked for the {} form again at once: one is open already", user.id,
                     context.form);
        return;
    }
    json args{{"trigger_id", trigger_id}, {"view", form_view(form, encode_form_context(context))}};
    asio::co_spawn(executor_, open_view(std::move(args), context.channel_id, user.id, context.form),
                   net::LogStopped{"slack: views.open"});
}

asio::awaitable<void> SlackAdapter::open_view(json args, std::string channel, std::string user,
                                              std::string form) {
    auto connection = connection_;
    const ApiResult r = co_await api_.call("views.open", std::move(args));
    if (r.ok || connection->stopped) co_return;
    spdlog::error("slack views.open: the {} form was not opened for {}: {}", form, user, r.error);
    if (channel.empty()) co_return;
    enqueue(Ephemeral{channel, user,
                      "incident-bot could not open the form (" + r.error +
                          "). Try the button again, or use the command: `/incident help`."});
}

asio::awaitable<SlackAdapter::Interaction> SlackAdapter::prepare_interaction(json payload,
                                                                             bool redelivered) {
    Interaction in;
    in.redelivered = redelivered;
    if (const auto button = decode_form_button(payload)) {
        in.handled = true;
        const auto id = commands::parse_form_id(button->form);
        std::string why_not = "incident-bot does not know the form `" + button->form + "`.";
        std::optional<commands::Form> form;
        if (id && *id != commands::FormId::declare) {
            form = incident_form(*id, button->incident, why_not);
        }
        if (form) {
            open_form(*form, FormContext{button->form, button->incident, button->channel_id},
                      button->trigger_id, button->user, in.redelivered);
        } else if (!button->channel_id.empty()) {
            in.answer = Ephemeral{button->channel_id, button->user.id, why_not};
        }
        co_return in;
    }
    if (const auto shortcut = decode_shortcut(payload)) {
        in.handled = true;
        const Shortcut& s = *shortcut;
        if (!s.on_message) {
            if (s.callback_id == k_declare_shortcut && !s.trigger_id.empty()) {
                open_form(commands::make_form(commands::FormId::declare),
                          FormContext{std::string(to_string(commands::FormId::declare)),
                                      std::nullopt, ""},
                          s.trigger_id, s.user, in.redelivered);
            } else {
                spdlog::warn("slack: global shortcut `{}` is not one of incident-bot's",
                             s.callback_id);
            }
            co_return in;
        }
        const auto inc = service_.find_by_channel(std::string(k_platform), s.channel_id);
        const auto answer = [&](std::string text) {
            in.answer = Ephemeral{s.channel_id, s.user.id, std::move(text)};
        };
        if (s.callback_id != k_key_event_shortcut && s.callback_id != k_action_item_shortcut) {
            spdlog::warn("slack: message shortcut `{}` is not one of incident-bot's",
                         s.callback_id);
        } else if (!inc) {
            answer(
                "This is not an incident channel: the incident shortcuts work on the messages "
                "of an incident's own channel.");
        } else if (s.message_from_bot) {
            answer("That is a bot's message: the timeline has what the bot did already.");
        } else if (trim(s.message_text).empty()) {
            answer("That message has no text to put on the timeline.");
        } else if (s.callback_id == k_action_item_shortcut) {
            commands::Form form = commands::make_form(commands::FormId::action, &*inc);
            for (auto& f : form.fields) {
                if (f.name != "text") continue;
                // One line, as long as the field takes.
                std::string line = s.message_text;
                std::replace_if(
                    line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
                f.initial = truncate_utf8(trim(line), f.max_length);
            }
            open_form(form,
                      FormContext{std::string(to_string(commands::FormId::action)), inc->number,
                                  s.channel_id},
                      s.trigger_id, s.user, in.redelivered);
        } else {
            Actor author{s.message_user, ""};
            author.name = co_await display_name(s.message_user);
            Actor actor = s.user;
            actor.name = co_await display_name(s.user.id);
            // Recorded first in case the bot never saw it (an older message): a message it has
            // is kept as it is.
            in.events.emplace_back(MessagePosted{
                EventHeader{"shortcut-message:" + s.message_ts, std::string(k_platform),
                            s.channel_id, parse_ts(s.message_ts)},
                s.message_ts, s.thread_ts, author, s.message_text, false});
            // The same as a 📌 reaction by the person who used the shortcut.
            in.events.emplace_back(
                ReactionChanged{EventHeader{"shortcut:" + s.action_ts + ":" + s.user.id,
                                            std::string(k_platform), s.channel_id, service_.now()},
                                s.message_ts, "pushpin", actor, true});
            answer("📌 Marked as a key event of " + inc->key() +
                   ": it is on the post-mortem's timeline.");
        }
        co_return in;
    }
    if (auto submission = decode_view_submission(payload)) {
        for (const auto& [block, user] : submission->users) {
            const std::string name = co_await display_name(user);
            submission->values[block] = user_mention(user, name);
        }
        in.submission = std::move(submission);
        co_return in;
    }
    in.payload = std::move(payload);
    co_return in;
}

json SlackAdapter::process_interaction(const Interaction& in, std::vector<Job>& jobs) {
    if (in.submission) return submit_view(*in.submission, jobs);
    if (!in.handled) {
        process_action(in.payload, jobs);
        return json();
    }
    std::optional<Ephemeral> answer = in.answer;
    for (const auto& event : in.events) {
        const Outcome outcome = service_.handle_event(event);
        if (!outcome.reply.ok && answer) {
            answer->text = outcome.reply.text;
            break;
        }
        // Redelivered: said already.
        if (outcome.duplicate && std::holds_alternative<ReactionChanged>(event)) answer.reset();
    }
    if (answer) jobs.emplace_back(std::move(*answer));
    return json();
}

json SlackAdapter::submit_view(const ViewSubmission& s, std::vector<Job>& jobs) {
    const auto id = commands::parse_form_id(s.context.form);
    if (!id) {
        spdlog::warn("slack: a submitted view names a form incident-bot does not know ({})",
                     s.context.form);
        return json();
    }
    // Where a problem that is no one field's is shown.
    const std::string first = commands::make_form(*id).fields.front().name;
    std::optional<Incident> inc;
    if (*id != commands::FormId::declare) {
        if (s.context.incident) inc = service_.find(*s.context.incident);
        if (!inc) return form_errors({{first, "This incident does not exist any more."}});
    }
    const commands::FormResult result = commands::submit_form(*id, inc ? &*inc : nullptr, s.values);
    if (!result.ok()) return form_errors(result.errors);
    CommandRequest request;
    // The same view with the same values is the same request: a resubmission or a redelivered
    // envelope is answered, not done again.
    request.request_id = "view:" + commands::submission_id(s.view_id, s.values);
    request.platform = std::string(k_platform);
    request.channel_id = s.context.channel_id;
    request.caller = s.user;
    request.text = result.command;
    request.at = service_.now();
    const Outcome outcome = router_.dispatch(request);
    // Refused (a rule of the process, the incident moved on): the modal stays open and says
    // why, in the command's words.
    if (!outcome.reply.ok) return form_errors({{first, outcome.reply.text}});
    reply_later(request, outcome, jobs);
    if (!result.description.empty() && !outcome.duplicate) {
        for (const auto& effect : outcome.effects) {
            const auto* created = std::get_if<CreateChannel>(&effect);
            if (!created) continue;
            CommandRequest note = request;
            note.request_id += ":description";
            note.text = commands::description_command(created->incident, result.description);
            const Outcome noted = router_.dispatch(note);
            if (!noted.reply.ok) {
                spdlog::warn("slack: the description of {} was not recorded: {}",
                             incident_key(created->incident), noted.reply.text);
            }
        }
    }
    return json();
}

void SlackAdapter::reply_later(const CommandRequest& request, const Outcome& outcome,
                               std::vector<Job>& jobs) {
    if (outcome.reply.text.empty() || outcome.duplicate) return;
    if (request.channel_id.empty()) {
        jobs.emplace_back(PostMessage{ToUser{request.caller}, outcome.reply.text});
        return;
    }
    if (outcome.reply.visibility == Reply::Visibility::in_channel) {
        jobs.emplace_back(PostMessage{ToChannel{request.channel_id}, outcome.reply.text});
    } else {
        jobs.emplace_back(Ephemeral{request.channel_id, request.caller.id, outcome.reply.text});
    }
}

asio::awaitable<std::optional<std::string>> SlackAdapter::process_frames(
    std::vector<std::string> frames, net::WebSocketClient& socket) {
    const auto started = std::chrono::steady_clock::now();
    std::optional<std::string> disconnect;
    std::vector<Envelope> envelopes;
    std::vector<std::optional<ChatEvent>> events;
    std::vector<std::optional<Interaction>> interactions;
    for (const auto& frame : frames) {
        std::string error;
        auto envelope = parse_envelope(frame, error);
        if (!envelope) {
            spdlog::warn("slack: ignoring a socket mode frame: {}", error);
        } else if (!envelope->unreadable.empty()) {
            // Acked below with the rest, so Slack does not redeliver it; logged once.
            spdlog::error(
                "slack: envelope {} ({} bytes) is not valid JSON even with its escapes "
                "repaired; acked and dropped: {}",
                envelope->envelope_id, frame.size(), envelope->unreadable);
            envelopes.push_back(std::move(*envelope));
            events.emplace_back();
            interactions.emplace_back();
        } else if (envelope->type == "hello") {
            connected_ = true;
            last_error_.clear();
            if (auto& lost = connection_->lost_at) {
                const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - *lost);
                spdlog::info("slack: socket mode connected again {} ms after {}", took.count(),
                             connection_->lost_why);
                lost.reset();
            } else {
                spdlog::info("slack: socket mode connected");
            }
        } else if (envelope->type == "disconnect") {
            spdlog::info("slack: server asked to reconnect ({})", envelope->reason);
            disconnect = envelope->reason;
        } else {
            if (envelope->repaired_escapes > 0) {
                spdlog::warn(
                    "slack: envelope {} held {} invalid JSON escapes (a lone UTF-16 surrogate?); "
                    "read with U+FFFD in their place",
                    envelope->envelope_id, envelope->repaired_escapes);
            }
            if (observer_) observer_->event_received(k_platform);
            std::optional<ChatEvent> event;
            std::optional<Interaction> interaction;
            if (envelope->type == "events_api") event = co_await prepare_event(envelope->payload);
            if (envelope->type == "interactive") {
                interaction = co_await prepare_interaction(std::move(envelope->payload),
                                                           envelope->retry_attempt > 0);
            }
            envelopes.push_back(std::move(*envelope));
            events.push_back(std::move(event));
            interactions.push_back(std::move(interaction));
        }
    }
    if (envelopes.empty()) co_return disconnect;

    std::vector<Job> jobs;
    std::vector<json> responses(envelopes.size());
    service_.batch([&] {
        for (std::size_t i = 0; i < envelopes.size(); ++i) {
            const Envelope& e = envelopes[i];
            if (events[i]) {
                store_event(*events[i]);
            } else if (e.type == "slash_commands") {
                responses[i] = process_command(e.payload);
            } else if (interactions[i]) {
                responses[i] = process_interaction(*interactions[i], jobs);
            } else if (e.type != "events_api" && e.unreadable.empty()) {
                spdlog::warn("slack: unknown envelope type `{}` acked and ignored", e.type);
            }
        }
    });
    ++committed_batches_;
    spdlog::debug(
        "slack: stored {} envelopes in {:.2f} ms", envelopes.size(),
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count());
    // Committed: now, and only now, Slack may forget these envelopes.
    for (std::size_t i = 0; i < envelopes.size(); ++i) {
        if (envelopes[i].envelope_id.empty()) continue;
        socket.send(ack_frame(envelopes[i].envelope_id, responses[i]));
    }
    for (auto& job : jobs) enqueue(std::move(job));
    if (observer_) {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        for (std::size_t i = 0; i < envelopes.size(); ++i)
            observer_->event_acked(k_platform, took.count());
    }
    co_return disconnect;
}

asio::awaitable<std::shared_ptr<net::WebSocketClient>> SlackAdapter::open_socket() {
    std::shared_ptr<net::WebSocketClient> none;
    const ApiResult opened =
        co_await api_.call_form("apps.connections.open", net::FormFields(), options_.app_token);
    const std::string url = opened.body.is_object() ? opened.body.value("url", std::string()) : "";
    if (!opened.ok || url.empty()) {
        last_error_ = "apps.connections.open: " + opened.error;
        spdlog::error(
            "slack apps.connections.open: failed: {} (check SLACK_APP_TOKEN and that Socket Mode "
            "is enabled)",
            opened.error);
        co_return none;
    }
    auto socket = std::make_shared<net::WebSocketClient>(executor_, tls_, options_.websocket);
    const net::NetStatus status = co_await socket->connect(url);
    if (!status.ok()) {
        last_error_ = status.message;
        spdlog::error("slack socket mode: websocket connect failed: {}", status.message);
        co_return none;
    }
    co_return socket;
}

// Opens the next connection while `old` still runs, then lets `old` go: with a close frame
// when it still talks (a `disconnect` warning), dropped when it has gone silent.
asio::awaitable<void> SlackAdapter::replace(std::shared_ptr<net::WebSocketClient> old,
                                            std::string why,
                                            std::chrono::steady_clock::time_point since) {
    auto connection = connection_;
    if (connection->replacing || connection->next || stopping_ || draining_) co_return;
    connection->replacing = true;
    if (!connection->lost_at) {
        connection->lost_at = since;
        connection->lost_why = why;
    }
    spdlog::info("slack socket mode: opening a new connection before leaving the old one ({})",
                 why);
    std::shared_ptr<net::WebSocketClient> fresh;
    try {
        fresh = co_await open_socket();
    } catch (const std::exception& e) {
        spdlog::error("slack socket mode: replacement failed: {}", e.what());
    }
    connection->replacing = false;
    if (fresh && (stopping_ || draining_)) fresh->abort();
    if (fresh && !stopping_ && !draining_) {
        connection->next = fresh;
        if (old->is_open() && old->silent_for() >= suspect_after()) {
            old->abort();
        } else if (old->is_open()) {
            asio::co_spawn(executor_, close_replaced(old),
                           net::LogStopped{"slack: closing the replaced connection"});
        }
    }
    connection->replaced.cancel();
}

std::chrono::milliseconds SlackAdapter::suspect_after() const {
    return (options_.websocket.ping_interval + options_.websocket.dead_after) / 2;
}

// A connection silent for longer than a ping's answer takes is suspect: its replacement is
// opened at once, before the WebSocket itself gives up on it (dead_after).
asio::awaitable<void> SlackAdapter::watch_silence(std::shared_ptr<net::WebSocketClient> socket) {
    auto connection = connection_;
    const auto suspect = suspect_after();
    if (options_.websocket.ping_interval.count() <= 0 || suspect.count() <= 0) co_return;
    asio::steady_timer timer(executor_);
    while (socket->is_open() && !stopping_ && !draining_) {
        const auto silent = socket->silent_for();
        if (silent >= suspect) {
            spdlog::warn("slack socket mode: no frame or pong for {} ms: the connection is silent",
                         silent.count());
            co_await replace(socket, "the connection went silent",
                             std::chrono::steady_clock::now() - silent);
            co_return;
        }
        timer.expires_after(suspect - silent);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (connection->stopped) co_return;
    }
}

asio::awaitable<void> SlackAdapter::wait_for_store() {
    const auto began = std::chrono::steady_clock::now();
    while (!stopping_ && !draining_) {
        bool works = false;
        try {
            service_.batch([] {});
            works = true;
        } catch (const std::exception&) {
            // The batch's failure was logged; this one says the same.
        }
        if (works) {
            spdlog::info("slack: storing works again after {} ms: reconnecting",
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - began)
                             .count());
            co_return;
        }
        asio::steady_timer timer(executor_, k_store_probe_interval);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<void> SlackAdapter::run_socket_mode() {
    net::Backoff backoff(options_.reconnect);
    auto connection = connection_;
    while (!stopping_ && !draining_) {
        bool prompt = false;
        bool batch_failed = false;
        std::shared_ptr<net::WebSocketClient> socket;
        try {
            // A replacement opened while the last connection still ran comes first.
            socket = std::move(connection->next);
            if (!socket) socket = co_await open_socket();
            if (socket) {
                connection->socket = socket;
                net::WebSocketClient& ws = *socket;
                asio::co_spawn(executor_, watch_silence(socket),
                               net::LogStopped{"slack: socket mode watcher"});
                bool open = !draining_;
                while (open) {
                    // Whatever has arrived meanwhile is one batch: one commit, then acks.
                    std::vector<std::string> frames = co_await ws.read_burst(k_max_batch);
                    // Shutting down: what was not taken yet stays unacked, and Slack
                    // delivers it again.
                    if (frames.empty() || draining_) break;
                    in_batch_ = true;
                    const std::size_t committed_before = committed_batches_;
                    std::optional<std::string> disconnect;
                    try {
                        disconnect = co_await process_frames(std::move(frames), ws);
                    } catch (...) {
                        in_batch_ = false;
                        batch_failed = true;
                        throw;
                    }
                    in_batch_ = false;
                    // Only a batch that committed envelopes is a success; a hello is not
                    // (while the database is down, each connection says hello, then fails).
                    if (committed_batches_ != committed_before) backoff.reset();
                    if (disconnect) {
                        // Slack closes this connection soon: the next one is opened now, and
                        // this one keeps delivering until then.
                        asio::co_spawn(
                            executor_,
                            replace(socket, "the server asked to reconnect (" + *disconnect + ")",
                                    std::chrono::steady_clock::now()),
                            net::LogStopped{"slack: socket mode replacement"});
                    }
                }
                const bool replaced = connection->next || connection->replacing;
                if (open && !draining_ && !replaced) {
                    const auto& status = ws.close_status();
                    last_error_ = status.message;
                    spdlog::warn("slack socket mode: connection lost: {}", status.message);
                    // A connection that worked and then died: try again at once.
                    prompt = status.kind == net::WebSocketCloseStatus::Kind::dead;
                    if (!connection->lost_at) {
                        // Dead: since the silence began; otherwise since the loss was seen.
                        connection->lost_at =
                            std::chrono::steady_clock::now() -
                            (prompt ? ws.silent_for() : std::chrono::milliseconds(0));
                        connection->lost_why = "the connection was lost (" + status.message + ")";
                    }
                }
                if (ws.is_open()) co_await ws.close();
            }
        } catch (const std::exception& e) {
            last_error_ = e.what();
            spdlog::error("slack: socket mode loop error: {}", e.what());
        }
        // After an error (a batch whose commit failed: the database is down) the connection
        // is given up: left open, its watcher would keep answering pings, and Slack would go
        // on handing envelopes to a connection nobody reads. Unacked, they come again on the
        // next one.
        if (socket && socket->is_open()) socket->abort();
        connected_ = false;
        connection->socket.reset();
        if (stopping_ || draining_) break;
        // The replacement being opened is the next connection: wait for it, not for a timer.
        while (connection->replacing && !stopping_ && !draining_) {
            connection->replaced.expires_at(asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await connection->replaced.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        if (stopping_ || draining_) break;
        if (batch_failed && !connection->next) {
            // Storing failed (the database is down): a new connection would only take
            // envelopes to fail them the same way. It opens once a commit works again.
            co_await wait_for_store();
            if (stopping_ || draining_) break;
            prompt = true;
        }
        ++reconnects_;
        if (observer_) observer_->reconnected(k_platform);
        if (connection->next) continue;
        const auto delay = prompt ? std::chrono::milliseconds(0) : backoff.next();
        spdlog::info("slack: reconnecting in {} ms (attempt {})", delay.count(),
                     backoff.attempts());
        asio::steady_timer timer(executor_, delay);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (connection->next) connection->next->abort();
}

asio::awaitable<net::HttpResponse> SlackAdapter::handle_http(net::HttpRequest request) {
    const std::string path(request.path());
    if (draining_) co_return text_response(503, "shutting down\n");
    if (request.method != "POST") co_return text_response(405, "use POST\n");
    if (options_.signing_secret.empty()) {
        co_return text_response(404, "Slack HTTP endpoints are off: set SLACK_SIGNING_SECRET.\n");
    }
    const bool form = path == "/slack/commands" || path == "/slack/interactive";
    std::optional<net::FormFields> fields;
    if (form) {
        fields = net::parse_form(request.body);
        if (fields && net::form_value(*fields, "ssl_check") == "1") {
            co_return text_response(200, std::string());
        }
    }
    const SignatureCheck check = verify_request(
        options_.signing_secret, request.headers.get("X-Slack-Request-Timestamp").value_or(""),
        request.headers.get("X-Slack-Signature").value_or(""), request.body, service_.now() / 1000);
    if (!check.ok) {
        spdlog::warn("slack: rejected {} from {}: {}", path, request.remote_address, check.error);
        co_return text_response(401, "rejected: " + check.error + "\n");
    }
    if (observer_) observer_->event_received(k_platform);
    const auto started = std::chrono::steady_clock::now();
    net::HttpResponse response = text_response(200, std::string());
    std::vector<Job> jobs;

    if (path == "/slack/events") {
        // Each event of the Events API, like each Socket Mode frame: the hot path's reader.
        const json body = net::parse_json(request.body);
        if (body.is_discarded() || !body.is_object()) {
            spdlog::warn("slack: /slack/events body is not a JSON object");
            co_return text_response(400, "body is not a JSON object\n");
        }
        const std::string type = body.value("type", std::string());
        if (type == "url_verification") {
            json challenge;
            challenge["challenge"] = body.value("challenge", std::string());
            co_return net::HttpResponse::json(200, challenge.dump());
        }
        const auto event = co_await prepare_event(body);
        if (event) store_event(*event);
    } else if (path == "/slack/commands") {
        if (!fields) co_return text_response(400, "malformed form body\n");
        json payload = json::object();
        for (const auto& [k, v] : *fields) payload[k] = v;
        const json answer = process_command(payload);
        if (!answer.is_null()) response = net::HttpResponse::json(200, answer.dump());
    } else if (path == "/slack/interactive") {
        const auto raw = fields ? net::form_value(*fields, "payload") : std::nullopt;
        const json payload = raw ? json::parse(*raw, nullptr, false) : json();
        if (!raw || payload.is_discarded()) co_return text_response(400, "malformed payload\n");
        const Interaction interaction = co_await prepare_interaction(
            payload, request.headers.get("X-Slack-Retry-Num").has_value());
        // A view_submission's errors are the response body (an empty 200 closes the modal).
        const json answer = process_interaction(interaction, jobs);
        if (!answer.is_null()) response = net::HttpResponse::json(200, answer.dump());
    } else {
        co_return text_response(404, "unknown Slack endpoint\n");
    }
    for (auto& job : jobs) enqueue(std::move(job));
    if (observer_) {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        observer_->event_acked(k_platform, took.count());
    }
    co_return response;
}

PlatformRegistration platform() {
    return PlatformRegistration{
        "slack", [](const PlatformContext& context) { return context.config.slack_enabled(); },
        [](const PlatformContext& context) -> std::unique_ptr<ChatPlatform> {
            const Config& config = context.config;
            SlackOptions options;
            options.bot_token = config.slack_bot_token;
            options.app_token = config.slack_app_token;
            options.signing_secret = config.slack_signing_secret;
            options.api_url = config.slack_api_url;
            options.announce_channel = config.announce_channel;
            options.public_url = config.public_url;
            options.websocket = net::WebSocketOptions::dead_after_silence(
                std::chrono::seconds(config.socket_dead_after_seconds));
            options.outbox = net::outbox_worker_options(config);
            return std::make_unique<SlackAdapter>(context.executor, context.tls, context.service,
                                                  context.router, context.outbox, options,
                                                  context.observer);
        }};
}

}  // namespace incident::slack
