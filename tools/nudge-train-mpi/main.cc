// nudge-train-mpi: one model trained by the ranks of an MPI job, each reading a part of the
// interactions file (docs/scale-out.md):
//
//   mpirun -np 4 nudge-train-mpi -i events.csv -m ials:factors=64 -o model.nudge
//
// Rank 0 writes the ordinary model file that nudge serve loads, atomically and only after
// every rank has finished. A rank that fails ends the job with an error naming the rank and
// the step; a rank that dies makes mpirun end the others, each saying the step it was in.
// A separate binary so that nudge itself never links MPI.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include <unistd.h>

#include "../nudge/data_flags.h"
#include "nudge/distributed/communicator.h"
#include "nudge/distributed/ials.h"
#include "nudge/distributed/shard.h"
#include "nudge/distributed/two_tower.h"
#include "nudge/log.h"
#include "nudge/model_file.h"
#include "nudge/registry.h"

namespace {

using nudge::Status;
using nudge::distributed::Communicator;

struct Flags {
  nudge::cli::DataFlags data;
  std::string spec = "ials";
  std::string out;
  int64_t average_every = 1;
};

// Ranks on one machine share its cores: unless the spec says, each takes its share.
std::string with_threads(const std::string& spec, const Communicator& comm) {
  if (spec.find("threads=") != std::string::npos) return spec;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, cores / comm.local_size());
  return spec + (spec.find(':') == std::string::npos ? ":" : ",") + "threads=" + std::to_string(threads);
}

Status train(Communicator& comm, const nudge::distributed::Shard& shard, const Flags& flags,
             nudge::Recommender* model) {
  if (auto* ials = dynamic_cast<nudge::IalsModel*>(model)) return nudge::distributed::train_ials(comm, shard, ials);
  if (auto* tower = dynamic_cast<nudge::TwoTowerModel*>(model))
    return nudge::distributed::train_two_tower(comm, shard, flags.average_every, tower);
  return Status::internal("nudge-train-mpi: no distributed training for " + std::string(model->name()));
}

Status run(Communicator& comm, const Flags& flags) {
  const std::string kind = flags.spec.substr(0, flags.spec.find(':'));
  if (kind != "ials" && kind != "twotower")
    return Status::unsupported("nudge-train-mpi trains ials and twotower, not " + kind +
                               " (docs/scale-out.md says what else scales)");
  NUDGE_ASSIGN_OR_RETURN(auto model, nudge::make_recommender_from_spec(with_threads(flags.spec, comm)));
  nudge::distributed::ShardOptions o;
  o.path = flags.data.input;
  NUDGE_ASSIGN_OR_RETURN(o.read, nudge::cli::read_options(flags.data));
  NUDGE_ASSIGN_OR_RETURN(o.clean, nudge::cli::clean_options(flags.data));
  NUDGE_ASSIGN_OR_RETURN(o.features, nudge::cli::feature_read_options(flags.data));
  o.item_features = flags.data.item_features;
  o.user_features = flags.data.user_features;
  if (!flags.data.rejects_file.empty())
    return Status::unsupported("--rejects is single-node only: each rank logs its own rejects");
  spdlog::info("nudge-train-mpi: rank {} of {} on {}, pid {}", comm.rank(), comm.size(), comm.host(), ::getpid());
  NUDGE_ASSIGN_OR_RETURN(const nudge::distributed::Shard shard, nudge::distributed::read_shard(comm, o));
  const auto start = std::chrono::steady_clock::now();
  const uint64_t read_bytes = comm.bytes_sent();
  NUDGE_RETURN_IF_ERROR(train(comm, shard, flags, model.get()));
  const uint64_t train_bytes = comm.bytes_sent() - read_bytes;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  NUDGE_ASSIGN_OR_RETURN(const nudge::Dataset all, nudge::distributed::gather_dataset(comm, shard));
  comm.set_step("waiting for every rank to finish");
  NUDGE_RETURN_IF_ERROR(comm.barrier());
  std::vector<uint64_t> sent = {read_bytes, train_bytes};
  NUDGE_RETURN_IF_ERROR(comm.allreduce_sum(std::span<uint64_t>(sent)));
  if (comm.rank() != 0) return Status::ok();
  comm.set_step("writing " + flags.out);
  if (auto* tower = dynamic_cast<nudge::TwoTowerModel*>(model.get())) tower->end_rounds(all);
  const nudge::Catalog& cat = all.catalog();
  NUDGE_RETURN_IF_ERROR(nudge::save_model(*model, cat.users, cat.items, all.user_items(), flags.out));
  const double ranks = comm.size();
  std::printf(
      "trained %s (%s) on %zu interactions with %d ranks in %.2fs (sent per rank: %.2f MB reading, %.2f MB "
      "training) -> %s\n",
      std::string(model->name()).c_str(), model->params().to_string().c_str(), all.num_interactions(), comm.size(),
      secs, static_cast<double>(sent[0]) / ranks / 1e6, static_cast<double>(sent[1]) / ranks / 1e6, flags.out.c_str());
  return Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  auto init = Communicator::init(&argc, &argv);
  if (!init.is_ok()) {
    std::fprintf(stderr, "nudge-train-mpi: %s\n", init.status().to_string().c_str());
    return 1;
  }
  std::unique_ptr<Communicator> comm = std::move(init).value();
  CLI::App app{"nudge-train-mpi: train one model with the ranks of an MPI job (mpirun -np N nudge-train-mpi ...)"};
  Flags flags;
  bool verbose = false, quiet = false;
  nudge::cli::add_data_flags(&app, &flags.data);
  app.add_option("-m,--model", flags.spec, "Model and parameters: ials:... or twotower:...")->capture_default_str();
  app.add_option("-o,--out", flags.out, "Model file rank 0 writes")->required();
  app.add_option("--average-every", flags.average_every, "twotower: epochs between parameter averages")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  app.add_flag("-v,--verbose", verbose, "More log output");
  app.add_flag("-q,--quiet", quiet, "Only errors");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same arguments; one says what was wrong.
    const int code = comm->rank() == 0 ? app.exit(e) : e.get_exit_code();
    return code == 0 ? 0 : 1;
  }
  nudge::configure_logging(quiet     ? nudge::LogLevel::kQuiet
                           : verbose ? nudge::LogLevel::kVerbose
                                     : nudge::LogLevel::kNormal);
  Status s;
  try {
    s = run(*comm, flags);
  } catch (const std::exception& e) {
    s = Status::internal(e.what());
  }
  if (!s.is_ok()) comm->abort(s);
  return 0;
}
