#pragma once

#include <span>

#include "adapters/chat_platform.hpp"

namespace incident::app {

// The chat platforms the binary knows, in order of preference (alerts open their incidents
// on the first one enabled).
std::span<const PlatformRegistration> builtin_platforms();

}  // namespace incident::app
