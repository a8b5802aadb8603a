// `nudge serve` as a child process on a free port, for tests and scenarios that need the real
// binary (signals, restarts). The port is read from --port-file once the server listens.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace nudge::testing {

class ServerProcess {
 public:
  // Runs `cli -q serve -d data_dir --port 0 ... extra`; port() is 0 if it did not come up in 30 s.
  ServerProcess(const std::string& cli, const std::string& data_dir, const std::string& port_file,
                std::vector<std::string> extra = {}) {
    std::remove(port_file.c_str());
    std::vector<std::string> args = {cli, "-q",        "serve", "-d",          data_dir, "--port",
                                     "0", "--threads", "2",     "--port-file", port_file};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int k = 0; k < 600 && port_ == 0; ++k) {
      std::ifstream in(port_file);
      int p = 0;
      if (in >> p) port_ = static_cast<uint16_t>(p);
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~ServerProcess() {
    if (pid_ > 0) stop(SIGTERM);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Sends the signal and returns the wait status.
  int stop(int sig) {
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace nudge::testing
