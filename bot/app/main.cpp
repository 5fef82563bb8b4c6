#include <malloc.h>

#include <iostream>
#include <string>
#include <vector>

#include "adapters/notify/email_sink.hpp"
#include "adapters/ops/bundle.hpp"
#include "adapters/ops/logging.hpp"
#include "adapters/web/markdown.hpp"
#include "bot/app/cli.hpp"
#include "bot/app/platforms.hpp"
#include "bot/app/runtime.hpp"
#include "bot/app/subcommands.hpp"
#include "bot/config.hpp"
#include "storage/maintenance.hpp"
#include "storage/postgres_store.hpp"
#include "storage/pq.hpp"
#include "storage/sqlite_store.hpp"

using namespace incident;
using namespace incident::app;

namespace {

// glibc's defaults hand the heap's top back to the kernel after nearly every batch and take
// it again for the next: brk and the page faults after it were a sixth of the CPU per event.
// A few MB kept resident stop that; large buffers still come from mmap.
void keep_heap_top() {
    mallopt(M_TOP_PAD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

// The libraries opened on first use are opened here: one that is missing fails `--version`
// (and so the image's probe stage) instead of the first PostgreSQL connection or email.
int print_version() {
    std::cout << "incident-bot " << INCIDENT_BOT_VERSION << "\n";
    int status = 0;
    for (const auto version : {pq::library_version, notify::curl_library_version,
                               ops::archive_library_version, web::cmark_library_version}) {
        try {
            std::cout << "  " << version() << "\n";
        } catch (const std::exception& e) {
            std::cerr << "error: " << e.what() << "\n";
            status = 1;
        }
    }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    keep_heap_top();
    const std::vector<std::string> args(argv + 1, argv + argc);
    for (const auto& a : args) {
        if (a == "--help" || a == "-h" || a == "help") {
            std::cout << usage();
            return 0;
        }
        if (a == "--version") return print_version();
    }
    std::string error;
    const auto options = parse_options(args, error);
    if (!options) return usage_error(error);

    const ConfigResult loaded = load_configuration(*options);
    const Config& config = loaded.config;
    // The commands that print their own findings keep the library's log lines out of them.
    const bool quiet = options->command == "doctor" || options->command == "healthcheck";
    std::string level = config.log_level;
    if (quiet && level.empty()) level = "off";
    ops::setup_logging(config.log_format == "json" ? ops::LogFormat::json : ops::LogFormat::text,
                       config.secrets(), level);

    if (options->command == "doctor") return run_doctor_command(loaded, *options);
    if (!loaded.errors.empty()) {
        for (const auto& e : loaded.errors) {
            std::cerr << "incident-bot: configuration: " << e.text() << "\n";
        }
        return 2;
    }

    try {
        if (options->command == "healthcheck") return run_healthcheck(config);
        if (options->command == "backup") return run_backup(config, options->path);
        if (options->command == "restore") return run_restore(config, options->path);
        SystemClock clock;
        const bool console = options->command == "console" || config.console_only();
        if (config.postgres()) {
            // Replicas share the database, so there is no file lock to hold.
            PostgresStore store(config.database_url);
            if (options->command == "export") return run_export(*options, store, clock);
            // /healthz asks the server each time: an outage shows there before an event
            // fails on it, and its end as soon as the server is back.
            return run_bot(loaded, store, clock, console, builtin_platforms(),
                           [&store] { return store.ping() ? std::string() : store.last_error(); });
        }
        if (options->command == "export") {
            SqliteStore store(config.db_path);
            return run_export(*options, store, clock);
        }
        // Held while the bot runs, so that a restore refuses to replace the database under
        // it; released only after the store is closed.
        const auto lock = DatabaseLock::acquire(config.db_path, DatabaseLock::Mode::shared, error);
        if (!lock) {
            std::cerr << "incident-bot: " << error << "\n";
            return 1;
        }
        SqliteStore store(config.db_path);
        return run_bot(loaded, store, clock, console, builtin_platforms(),
                       [] { return std::string(); });
    } catch (const std::exception& e) {
        std::cerr << "incident-bot: " << e.what() << "\n";
        return 1;
    }
}
