#include "storage/migrations.hpp"

#include <array>
#include <stdexcept>
#include <string>

#include <SQLiteCpp/SQLiteCpp.h>

namespace incident {

namespace {

// Enum columns hold the names from bot/types.hpp and carry no CHECK: a new enum value must
// not need a table rebuild. Times are Unix epoch milliseconds (UTC).
constexpr std::string_view k_initial_schema = R"sql(
CREATE TABLE processed_keys (
    key          TEXT PRIMARY KEY,
    reply        TEXT NOT NULL,
    processed_at INTEGER NOT NULL
);

CREATE TABLE incidents (
    number                  INTEGER PRIMARY KEY,
    title                   TEXT NOT NULL,
    severity                TEXT NOT NULL,
    final_severity          TEXT,
    state                   TEXT NOT NULL,
    merged_into             INTEGER REFERENCES incidents(number),
    platform                TEXT NOT NULL,
    channel_id              TEXT NOT NULL,
    channel_name            TEXT NOT NULL,
    declared_by_id          TEXT NOT NULL,
    declared_by_name        TEXT NOT NULL,
    declared_at             INTEGER NOT NULL,
    identified_at           INTEGER,
    mitigated_at            INTEGER,
    resolved_at             INTEGER,
    closed_at               INTEGER,
    last_update_at          INTEGER NOT NULL,
    summary                 TEXT NOT NULL,
    postmortem_owner        TEXT NOT NULL,
    postmortem_due          TEXT,
    postmortem_published_at INTEGER
);
CREATE INDEX incidents_by_channel ON incidents (platform, channel_id);
CREATE INDEX incidents_by_primary ON incidents (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE roles (
    id               INTEGER PRIMARY KEY,
    incident         INTEGER NOT NULL REFERENCES incidents(number),
    role             TEXT NOT NULL,
    person_id        TEXT NOT NULL,
    person_name      TEXT NOT NULL,
    assigned_by_id   TEXT NOT NULL,
    assigned_by_name TEXT NOT NULL,
    assigned_at      INTEGER NOT NULL,
    UNIQUE (incident, role, person_id)
);

CREATE TABLE timeline_entries (
    id          INTEGER PRIMARY KEY,
    incident    INTEGER NOT NULL REFERENCES incidents(number),
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    author_id   TEXT NOT NULL,
    author_name TEXT NOT NULL,
    text        TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    thread_id   TEXT NOT NULL,
    key_event   INTEGER NOT NULL CHECK (key_event IN (0, 1)),
    edited_at   INTEGER,
    deleted_at  INTEGER
);
CREATE INDEX timeline_by_incident ON timeline_entries (incident, at, id);
-- Retried or replayed deliveries of one chat message must not become two entries.
CREATE UNIQUE INDEX timeline_by_message ON timeline_entries (incident, message_id)
    WHERE message_id <> '';

-- Earlier texts of an edited entry, seq 0 the oldest.
CREATE TABLE entry_revisions (
    entry_id INTEGER NOT NULL REFERENCES timeline_entries(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    text     TEXT NOT NULL,
    PRIMARY KEY (entry_id, seq)
) WITHOUT ROWID;

CREATE TABLE action_items (
    id                INTEGER PRIMARY KEY,
    incident          INTEGER NOT NULL REFERENCES incidents(number),
    number            INTEGER NOT NULL,
    text              TEXT NOT NULL,
    owner             TEXT NOT NULL,
    due               TEXT,
    status            TEXT NOT NULL,
    source            TEXT NOT NULL,
    source_message_id TEXT NOT NULL,
    author_id         TEXT NOT NULL,
    author_name       TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    done_at           INTEGER,
    UNIQUE (incident, number)
);

-- incident NULL: every incident at min_severity or worse.
CREATE TABLE subscriptions (
    id           INTEGER PRIMARY KEY,
    platform     TEXT NOT NULL,
    who_id       TEXT NOT NULL,
    who_name     TEXT NOT NULL,
    incident     INTEGER REFERENCES incidents(number),
    min_severity TEXT NOT NULL
);
-- NULLs are distinct in a UNIQUE constraint, hence the expression.
CREATE UNIQUE INDEX subscriptions_unique
    ON subscriptions (platform, who_id, ifnull(incident, 0), min_severity);
)sql";

// One row per reminder sent: a restart reads them back instead of sending again.
constexpr std::string_view k_reminders_sent = R"sql(
CREATE TABLE reminders_sent (
    key      TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,
    incident INTEGER REFERENCES incidents(number),
    sent_at  INTEGER NOT NULL
);
CREATE INDEX reminders_by_incident ON reminders_sent (incident, kind, sent_at)
    WHERE incident IS NOT NULL;
)sql";

// Recorded in the post-mortem review, counted by category across incidents.
constexpr std::string_view k_contributing_factors = R"sql(
CREATE TABLE contributing_factors (
    id          INTEGER PRIMARY KEY,
    incident    INTEGER NOT NULL REFERENCES incidents(number),
    category    TEXT NOT NULL,
    text        TEXT NOT NULL,
    author_id   TEXT NOT NULL,
    author_name TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX factors_by_incident ON contributing_factors (incident, id);
)sql";

// The post-mortem's narrative sections, one row per write (the latest per section and item
// is the draft, the rest its history); preventive measures are action items of their own kind.
constexpr std::string_view k_postmortem_sections = R"sql(
CREATE TABLE postmortem_revisions (
    id          INTEGER PRIMARY KEY,
    incident    INTEGER NOT NULL REFERENCES incidents(number),
    section     TEXT NOT NULL,
    item        INTEGER NOT NULL,
    text        TEXT NOT NULL,
    author_id   TEXT NOT NULL,
    author_name TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX revisions_by_incident ON postmortem_revisions (incident, id);
ALTER TABLE action_items ADD COLUMN kind TEXT NOT NULL DEFAULT 'corrective';
)sql";

// Alerts from monitoring (Alertmanager, Grafana, PagerDuty) and the incidents they open:
// when the problem began, and the earlier incident of the same alert group.
constexpr std::string_view k_alerts = R"sql(
ALTER TABLE incidents ADD COLUMN detected_at INTEGER;
ALTER TABLE incidents ADD COLUMN related_to INTEGER REFERENCES incidents(number);

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    incident    INTEGER NOT NULL REFERENCES incidents(number),
    source      TEXT NOT NULL,
    group_key   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      TEXT NOT NULL,
    labels      TEXT NOT NULL,  -- JSON object of strings
    annotations TEXT NOT NULL,  -- JSON object of strings
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER,
    url         TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    -- A repeated notification (repeat_interval, a retry after a 5xx) is the same alert.
    UNIQUE (incident, source, fingerprint, starts_at)
);
CREATE INDEX alerts_by_group ON alerts (source, group_key, incident);
)sql";

// Published post-mortems, frozen, with a full-text index (FTS5) over what people search for.
constexpr std::string_view k_published_postmortems = R"sql(
CREATE TABLE published_postmortems (
    id         INTEGER PRIMARY KEY,
    incident   INTEGER NOT NULL REFERENCES incidents(number),
    version    INTEGER NOT NULL,
    title      TEXT NOT NULL,
    markdown   TEXT NOT NULL,
    summary    TEXT NOT NULL,
    root_cause TEXT NOT NULL,
    factors    TEXT NOT NULL,
    actions    TEXT NOT NULL,
    by_id      TEXT NOT NULL,
    by_name    TEXT NOT NULL,
    at         INTEGER NOT NULL,
    UNIQUE (incident, version)
);
CREATE VIRTUAL TABLE published_search USING fts5(
    title, summary, root_cause, factors, actions,
    content = 'published_postmortems', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
-- Published versions are never changed or deleted, so inserting is all the index follows.
CREATE TRIGGER published_search_insert AFTER INSERT ON published_postmortems BEGIN
    INSERT INTO published_search (rowid, title, summary, root_cause, factors, actions)
    VALUES (new.id, new.title, new.summary, new.root_cause, new.factors, new.actions);
END;
)sql";

// Every effect the bot decided on, written with the change that caused it and kept until
// delivered (bot/outbox.hpp); incident 0 is "no incident", hence no foreign key. Delivered
// entries and old processed keys are pruned by time, hence the time indexes.
constexpr std::string_view k_outbox = R"sql(
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    sink            TEXT NOT NULL,
    incident        INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    result          TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    done_at         INTEGER,
    error           TEXT NOT NULL,
    claimed_by      TEXT NOT NULL DEFAULT '',
    claimed_until   INTEGER
);
CREATE INDEX outbox_by_status ON outbox (status, sink, id);
CREATE INDEX outbox_delivered ON outbox (done_at) WHERE status = 'delivered';
CREATE INDEX processed_keys_by_time ON processed_keys (processed_at);
)sql";

// Leases (bot/store.hpp hold_lease): which replica runs the jobs that must run once, such
// as reminders and housekeeping.
constexpr std::string_view k_leases = R"sql(
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    held_until INTEGER NOT NULL
);
)sql";

// The public status page: what was published, and each component's current status.
constexpr std::string_view k_status_page = R"sql(
CREATE TABLE status_messages (
    id          INTEGER PRIMARY KEY,
    incident    INTEGER NOT NULL REFERENCES incidents(number),
    state       TEXT NOT NULL,
    text        TEXT NOT NULL,
    by_id       TEXT NOT NULL,
    by_name     TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX status_messages_by_incident ON status_messages (incident, id);
CREATE INDEX status_messages_by_time ON status_messages (at, id);
CREATE TABLE status_components (
    name        TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    incident    INTEGER REFERENCES incidents(number),
    by_id       TEXT NOT NULL,
    by_name     TEXT NOT NULL,
    at          INTEGER NOT NULL
);
)sql";

// The messages the bot keeps current (the live summary of each incident): where each one
// is on its platform and what it showed last.
constexpr std::string_view k_live_messages = R"sql(
CREATE TABLE live_messages (
    incident   INTEGER NOT NULL REFERENCES incidents(number),
    platform   TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    rendered   TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (incident, platform, purpose)
);
)sql";

// Evidence: files shared in incident channels (bot/evidence.hpp). The content itself is not
// here: SqliteStore keeps it once per SHA-256 in a folder beside the database file.
constexpr std::string_view k_files = R"sql(
CREATE TABLE files (
    id            INTEGER PRIMARY KEY,
    incident      INTEGER NOT NULL REFERENCES incidents(number),
    platform      TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    source_url    TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    name          TEXT NOT NULL,
    mime_type     TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    shared_by_id  TEXT NOT NULL,
    shared_by_name TEXT NOT NULL,
    shared_at     INTEGER NOT NULL,
    status        TEXT NOT NULL,
    error         TEXT NOT NULL,
    UNIQUE (incident, platform, source_id)
);
)sql";

// What marked each chat message as a key event ("pin", "reaction", "pin reaction"), so that
// unpinning and removing the 📌 each undo only their own mark. A message marked before this
// column existed is taken as marked by 📌: adding and removing one unmarks it.
constexpr std::string_view k_key_marks = R"sql(
ALTER TABLE timeline_entries ADD COLUMN key_marks TEXT NOT NULL DEFAULT ''
    CHECK (key_marks IN ('', 'pin', 'reaction', 'pin reaction'));
UPDATE timeline_entries SET key_marks = 'reaction' WHERE kind = 'message' AND key_event = 1;
)sql";

// The same CHECK without the IN list: SQLite checks an IN list of more than two constants
// against a temporary b-tree that it builds and frees on every insert (a fifth of the
// timeline insert's CPU under load). DROP COLUMN keeps rowids, so revisions keep their entry.
constexpr std::string_view k_key_marks_check = R"sql(
ALTER TABLE timeline_entries ADD COLUMN key_marks_checked TEXT NOT NULL DEFAULT ''
    CHECK (key_marks_checked = '' OR key_marks_checked = 'pin'
           OR key_marks_checked = 'reaction' OR key_marks_checked = 'pin reaction');
UPDATE timeline_entries SET key_marks_checked = key_marks;
ALTER TABLE timeline_entries DROP COLUMN key_marks;
ALTER TABLE timeline_entries RENAME COLUMN key_marks_checked TO key_marks;
)sql";

constexpr std::array<Migration, 13> k_migrations{{
    {1, "initial schema", k_initial_schema},
    {2, "reminders sent", k_reminders_sent},
    {3, "contributing factors", k_contributing_factors},
    {4, "post-mortem sections", k_postmortem_sections},
    {5, "alerts", k_alerts},
    {6, "published post-mortems", k_published_postmortems},
    {7, "outbox", k_outbox},
    {8, "leases", k_leases},
    {9, "status page", k_status_page},
    {10, "live messages", k_live_messages},
    {11, "files", k_files},
    {12, "key event marks", k_key_marks},
    {13, "key event marks checked by equalities", k_key_marks_check},
}};

bool has_migrations_table(SQLite::Database& db) {
    SQLite::Statement query(
        db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
    return query.executeStep();
}

bool is_applied(SQLite::Database& db, int version) {
    SQLite::Statement query(db, "SELECT 1 FROM schema_migrations WHERE version = ?");
    query.bind(1, version);
    return query.executeStep();
}

void apply(SQLite::Database& db, const Migration& migration) {
    // IMMEDIATE takes the write lock first, so two processes opening the same file at once
    // cannot both apply one migration.
    db.exec("BEGIN IMMEDIATE");
    try {
        if (!is_applied(db, migration.version)) {
            db.exec(std::string(migration.sql));
            SQLite::Statement record(db,
                                     "INSERT INTO schema_migrations (version, applied_at) "
                                     "VALUES (?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))");
            record.bind(1, migration.version);
            record.exec();
        }
        db.exec("COMMIT");
    } catch (...) {
        db.tryExec("ROLLBACK");
        throw;
    }
}

}  // namespace

std::span<const Migration> migrations() {
    return k_migrations;
}

int latest_schema_version() {
    return k_migrations.back().version;
}

int schema_version(SQLite::Database& db) {
    if (!has_migrations_table(db)) return 0;
    SQLite::Statement query(db, "SELECT ifnull(max(version), 0) FROM schema_migrations");
    query.executeStep();
    return query.getColumn(0).getInt();
}

void migrate(SQLite::Database& db, std::span<const Migration> list) {
    int known = 0;
    for (const Migration& migration : list) {
        if (migration.version <= known) {
            throw std::logic_error("schema migrations must have strictly increasing versions");
        }
        known = migration.version;
    }

    const int current = schema_version(db);
    if (current > known) {
        throw std::runtime_error("database schema version " + std::to_string(current) +
                                 " is newer than this incident-bot (knows up to " +
                                 std::to_string(known) + "); upgrade incident-bot");
    }

    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
    for (const Migration& migration : list) {
        if (migration.version > current) apply(db, migration);
    }
}

void migrate(SQLite::Database& db) {
    migrate(db, migrations());
}

}  // namespace incident
