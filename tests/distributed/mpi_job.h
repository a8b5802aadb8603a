// Runs nudge-train-mpi under mpirun on loopback, as the distributed tests need it: the exit
// status, everything the job wrote, and a hook that sees each line as it comes (the kill test
// acts on one).
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

extern char** environ;

namespace nudge::testing {

struct MpiJob {
  int exit_code = -1;
  std::string output;  // stdout and stderr of every rank and of mpirun
};

// mpirun -np `ranks` nudge-train-mpi `args`: TCP over loopback (no shared-memory transport,
// so the bytes go where a cluster's would), oversubscribed (more ranks than cores is fine).
inline MpiJob run_mpi_job(int ranks, const std::vector<std::string>& args,
                          const std::function<void(const std::string&)>& on_line = {}) {
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);  // CI runs as root; mpirun refuses it otherwise
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  ::setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
  std::vector<std::string> argv = {NUDGE_MPIEXEC,
                                   "--bind-to",
                                   "none",
                                   "--mca",
                                   "btl",
                                   "self,tcp",
                                   "--mca",
                                   "btl_tcp_if_include",
                                   "lo",
                                   "--mca",
                                   "oob_tcp_if_include",
                                   "lo",
                                   "-np",
                                   std::to_string(ranks),
                                   NUDGE_TRAIN_MPI};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int fds[2];
  MpiJob job;
  if (::pipe(fds) != 0) return job;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    job.output = "cannot start " + argv[0];
    return job;
  }
  std::string pending;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) {
    job.output.append(buffer, static_cast<size_t>(n));
    pending.append(buffer, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1))
      if (on_line) on_line(pending.substr(0, nl));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  job.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return job;
}

}  // namespace nudge::testing
