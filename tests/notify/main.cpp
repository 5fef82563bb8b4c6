#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

int main(int argc, char** argv) {
    // The sinks log every retry; tests provoke many on purpose.
    spdlog::set_level(std::getenv("INCIDENT_NOTIFY_TEST_LOG") ? spdlog::level::debug
                                                              : spdlog::level::err);
    doctest::Context context(argc, argv);
    return context.run();
}
