#include "bot/app/subcommands.hpp"

#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "adapters/net/http_client.hpp"
#include "adapters/net/tls_context.hpp"
#include "adapters/ops/bundle.hpp"
#include "adapters/ops/doctor.hpp"
#include "bot/export_json.hpp"
#include "bot/incident_service.hpp"
#include "bot/postmortem.hpp"
#include "storage/content_folder.hpp"
#include "storage/maintenance.hpp"

namespace incident::app {

namespace {

namespace asio = boost::asio;

// backup and restore copy SQLite files; PostgreSQL has its own tools.
int explain_pg_dump(const std::string& command) {
    std::cerr << "incident-bot: " << command
              << " copies SQLite files, and this bot stores its data in PostgreSQL "
                 "(INCIDENT_BOT_DATABASE_URL is set): nothing was done.\n"
                 "Back up with pg_dump, e.g. pg_dump --format=custom --file=incident-bot.dump "
                 "\"$INCIDENT_BOT_DATABASE_URL\", and restore with pg_restore --clean "
                 "--dbname=\"$INCIDENT_BOT_DATABASE_URL\" incident-bot.dump while no replica "
                 "runs.\n";
    return 1;
}

}  // namespace

int run_export(const Options& o, Store& store, const Clock& clock) {
    const auto number = parse_incident_key(o.incident);
    if (!number) return usage_error("export needs an incident id such as INC-7");
    IncidentService service(store, clock);
    const auto found = service.find(*number);
    if (!found) {
        std::cerr << "incident-bot: " << incident_key(*number) << " does not exist in this "
                  << "database.\n";
        return 1;
    }
    if (o.format.value_or("md") == "bundle") {
        if (::isatty(STDOUT_FILENO)) {
            return usage_error("a bundle is binary (.tar.gz): redirect it, e.g. > inc.tar.gz");
        }
        const std::string bundle = ops::export_bundle(service, *number);
        std::cout.write(bundle.data(), static_cast<std::streamsize>(bundle.size()));
        std::cout.flush();
        return std::cout ? 0 : 1;
    }
    const IncidentSnapshot snap = service.snapshot(*number);
    if (o.format.value_or("md") == "json") {
        std::cout << to_json(snap).dump(2) << "\n";
    } else {
        std::cout << render_postmortem(snap);
    }
    return 0;
}

// The configuration with what each key's origin, or errors naming the key (and line).
ConfigResult load_configuration(const Options& o) {
    ConfigResult loaded = o.config ? load_config(process_environment(), read_config_file(*o.config))
                                   : load_config(process_environment());
    if (o.db) {
        loaded.config.db_path = *o.db;
        loaded.origins["INCIDENT_BOT_DB"] = "--db";
    }
    if (o.log_format) loaded.config.log_format = *o.log_format;
    return loaded;
}

int run_doctor_command(const ConfigResult& loaded, const Options& o) {
    const Config& config = loaded.config;
    asio::io_context io;
    std::vector<ops::Check> checks;
    std::string error;
    auto tls = net::TlsContext::client(net::TlsClientOptions{true, config.ca_file}, error);
    if (!tls) {
        checks.push_back(ops::Check{ops::Level::error, "tls", error,
                                    "point INCIDENT_BOT_CA_FILE at a readable PEM bundle"});
        std::string ignored;
        tls = net::TlsContext::client(net::TlsClientOptions{true, {}}, ignored);
    }
    ops::DoctorOptions options;
    options.config_file = o.config.value_or("");
    asio::co_spawn(io, ops::run_doctor(io.get_executor(), *tls, loaded, options),
                   [&](std::exception_ptr e, std::vector<ops::Check> found) {
                       if (!e) checks.insert(checks.end(), found.begin(), found.end());
                       io.stop();
                   });
    io.run();
    if (o.format.value_or("text") == "json") {
        std::cout << ops::to_json(checks).dump(2) << "\n";
    } else {
        std::cout << "incident-bot doctor: settings from the environment"
                  << (o.config ? " and " + *o.config : std::string()) << "\n";
        int errors = 0, warnings = 0;
        for (const auto& check : checks) {
            std::cout << ops::format_check(check) << "\n";
            errors += check.level == ops::Level::error;
            warnings += check.level == ops::Level::warning;
        }
        std::cout << errors << " error(s), " << warnings << " warning(s)\n";
    }
    return ops::has_errors(checks) ? 1 : 0;
}

// GET /healthz of the running bot: a HEALTHCHECK that needs no curl in the image.
int run_healthcheck(const Config& config) {
    const auto colon = config.listen.rfind(':');
    std::string host = config.listen.substr(0, colon);
    if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
    if (host == "[::]") host = "[::1]";
    asio::io_context io;
    std::string error;
    const auto tls = net::TlsContext::client(net::TlsClientOptions{true, {}}, error);
    if (!tls) {
        std::cerr << "incident-bot: " << error << "\n";
        return 1;
    }
    net::HttpClient client(io.get_executor(), *tls,
                           net::HttpClientOptions{std::chrono::milliseconds(5000)});
    net::HttpResponse response;
    net::HttpRequest request;
    request.url = "http://" + host + config.listen.substr(colon) + "/healthz";
    asio::co_spawn(io, client.request(request),
                   [&](std::exception_ptr, net::HttpResponse r) { response = std::move(r); });
    io.run();
    if (response.status == 0) {
        std::cout << "unhealthy: " << response.error << "\n";
        return 1;
    }
    std::cout << (response.status == 200 ? "healthy: " : "unhealthy: ") << response.body;
    return response.status == 200 ? 0 : 1;
}

int run_backup(const Config& config, const std::string& path) {
    if (config.postgres()) return explain_pg_dump("backup");
    const DatabaseInfo info = backup_database(config.db_path, path);
    std::cout << "incident-bot: backed up " << config.db_path << " to " << path << ": "
              << info.incidents << " incident(s), schema version " << info.schema_version << ", "
              << info.bytes << " bytes";
    if (info.files > 0) {
        std::cout << ", " << info.files << " evidence file(s) in " << content_folder_of(path);
    }
    std::cout << "\n";
    if (info.files_missing > 0) {
        std::cerr << "incident-bot: " << info.files_missing
                  << " evidence file(s) have no contents in " << content_folder_of(config.db_path)
                  << ": they are listed in the backup but cannot be downloaded from it\n";
    }
    return 0;
}

int run_restore(const Config& config, const std::string& path) {
    if (config.postgres()) return explain_pg_dump("restore");
    try {
        const RestoreResult result = restore_database(path, config.db_path);
        std::cout << "incident-bot: restored " << config.db_path << " from " << path << ": "
                  << result.restored.incidents << " incident(s), schema version "
                  << result.restored.schema_version << ", " << result.restored.files
                  << " evidence file(s)\n";
        if (result.restored.files_missing > 0) {
            std::cerr << "incident-bot: " << result.restored.files_missing
                      << " evidence file(s) have no contents in " << content_folder_of(path)
                      << " (a backup copied without its folder?): they are listed but cannot "
                         "be downloaded\n";
        }
        if (!result.previous.empty()) {
            std::cout << "incident-bot: the replaced database is kept as " << result.previous
                      << "\n";
        }
        return 0;
    } catch (const DatabaseInUse& e) {
        std::cerr << "incident-bot: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace incident::app
