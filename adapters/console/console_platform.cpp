#include "adapters/console/console_platform.hpp"

#include <unistd.h>

#include <chrono>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/post.hpp>

#include "adapters/console/console_adapter.hpp"

namespace incident {

namespace {

namespace asio = boost::asio;

// Event ids of one console session: a restart on the same database must not look like a
// redelivery of the previous session's events.
std::string session_id() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return "s" +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) +
           "-" + std::to_string(::getpid());
}

class ConsolePlatform final : public ChatPlatform {
public:
    explicit ConsolePlatform(const PlatformContext& context)
        : executor_(context.executor),
          request_shutdown_(context.request_shutdown),
          adapter_(std::make_unique<ConsoleAdapter>(context.service, context.router, std::cout,
                                                    context.config.announce_channel,
                                                    session_id())) {}

    void start() override {
        const bool interactive = ::isatty(STDIN_FILENO) != 0;
        adapter_->begin(interactive);
        // getline blocks; the thread is detached so a signal can end the process at once.
        std::thread([executor = executor_, shutdown = request_shutdown_, adapter = adapter_.get(),
                     interactive] {
            std::string line;
            bool more = true;
            while (more && std::getline(std::cin, line)) {
                std::promise<bool> handled;
                asio::post(executor, [&] { handled.set_value(adapter->handle_line(line)); });
                more = handled.get_future().get();
                if (more && interactive)
                    asio::post(executor, [adapter] { adapter->show_prompt(); });
            }
            asio::post(executor, [shutdown] { shutdown("end of the console input"); });
        }).detach();
    }
    void stop() override {}
    asio::awaitable<void> drain(std::chrono::steady_clock::time_point) override { co_return; }
    void deliver(const Effect& effect) override { adapter_->deliver(effect); }
    asio::awaitable<net::HttpResponse> handle_http(net::HttpRequest) override {
        co_return net::HttpResponse::text(404, "not found\n");
    }
    nlohmann::json health() const override { return nlohmann::json{{"ok", true}}; }

private:
    asio::any_io_executor executor_;
    std::function<void(const char*)> request_shutdown_;
    // The detached reading thread holds a pointer to it: the process exits soon after the
    // runtime returns, and the thread posts nothing once the input has ended.
    std::unique_ptr<ConsoleAdapter> adapter_;
};

}  // namespace

PlatformRegistration console_platform() {
    return PlatformRegistration{
        ConsoleAdapter::k_platform, [](const PlatformContext& context) { return context.console; },
        [](const PlatformContext& context) -> std::unique_ptr<ChatPlatform> {
            return std::make_unique<ConsolePlatform>(context);
        }};
}

}  // namespace incident
