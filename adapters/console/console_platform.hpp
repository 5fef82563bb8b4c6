#pragma once

#include "adapters/chat_platform.hpp"

namespace incident {

// The console as a chat platform: stdin is read on its own thread and each line is handed to
// the io_context, so the domain is only ever touched from one thread. On when the console is
// asked for (`incident-bot console`) or no chat platform is configured; the end of its input
// stops the bot.
PlatformRegistration console_platform();

}  // namespace incident
