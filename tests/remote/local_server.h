// An in-process cpp-httplib server on a free loopback port, for the remote clients' tests.
#pragma once

#include <httplib.h>

#include <chrono>
#include <string>
#include <thread>

namespace difr {

// Listens from construction; stopped when the test ends.
class LocalServer {
public:
    LocalServer() {
        server_.set_keep_alive_timeout(1);  // stop() waits for idle keep-alive connections
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~LocalServer() {
        server_.stop();
        thread_.join();
    }
    httplib::Server &server() { return server_; }
    std::string url(const std::string &path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }

private:
    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
};

}  // namespace difr
