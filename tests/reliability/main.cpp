#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
    // The fake's server logs every dropped connection; these tests drop many on purpose.
    spdlog::set_level(spdlog::level::err);
    doctest::Context context(argc, argv);
    return context.run();
}
