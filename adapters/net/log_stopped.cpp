#include "adapters/net/log_stopped.hpp"

#include <spdlog/spdlog.h>

namespace incident::net {

void LogStopped::operator()(std::exception_ptr error) const {
    if (!error) return;
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        spdlog::error("{} stopped: {}", what, e.what());
    }
}

}  // namespace incident::net
