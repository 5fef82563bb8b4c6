#pragma once

#include <functional>
#include <span>
#include <string>

#include "adapters/chat_platform.hpp"
#include "bot/clock.hpp"
#include "bot/config.hpp"
#include "bot/store.hpp"

namespace incident::app {

// The running bot: every enabled platform of `platforms`, the dashboard and the HTTP
// endpoints, the notify sinks, reminders and housekeeping, on one io_context, until SIGTERM,
// SIGINT or a platform asks it to stop. `console`: the console was asked for, or no chat
// platform is configured. `store_problem` says why the store cannot reach its database right
// now (empty: it can). Returns the exit status.
int run_bot(const ConfigResult& loaded, Store& store, const Clock& clock, bool console,
            std::span<const PlatformRegistration> platforms,
            const std::function<std::string()>& store_problem);

}  // namespace incident::app
