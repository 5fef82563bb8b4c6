#pragma once

#include "bot/app/cli.hpp"
#include "bot/clock.hpp"
#include "bot/config.hpp"
#include "bot/store.hpp"

namespace incident::app {

// The settings of the environment and --config, with the command line's overrides.
ConfigResult load_configuration(const Options& o);

// The sub-commands besides running the bot; each returns the exit status.
int run_export(const Options& o, Store& store, const Clock& clock);
int run_doctor_command(const ConfigResult& loaded, const Options& o);
int run_healthcheck(const Config& config);
int run_backup(const Config& config, const std::string& path);
int run_restore(const Config& config, const std::string& path);

}  // namespace incident::app
