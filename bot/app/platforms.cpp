#include "bot/app/platforms.hpp"

#include "adapters/console/console_platform.hpp"
#include "adapters/mattermost/mattermost_adapter.hpp"
#include "adapters/slack/slack_adapter.hpp"

namespace incident::app {

std::span<const PlatformRegistration> builtin_platforms() {
    // One line per platform.
    static const PlatformRegistration k_platforms[] = {
        slack::platform(),
        mattermost::platform(),
        console_platform(),
    };
    return k_platforms;
}

}  // namespace incident::app
