#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

int main(int argc, char** argv) {
    // The adapter logs every refusal and reconnect; tests provoke many on purpose.
    spdlog::set_level(std::getenv("INCIDENT_MATTERMOST_TEST_LOG") ? spdlog::level::debug
                                                                  : spdlog::level::err);
    doctest::Context context(argc, argv);
    return context.run();
}
