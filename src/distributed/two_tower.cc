#include "nudge/distributed/two_tower.h"

#include <algorithm>

#include "nudge/log.h"

namespace nudge::distributed {

namespace {

// Items with an event on any rank: every rank lays out the same ID tokens.
Result<std::vector<uint64_t>> trained_items(Communicator& comm, const Shard& shard) {
  std::vector<uint64_t> trained(shard.users.num_items(), 0);
  for (uint32_t i = shard.item_rows.begin; i < shard.item_rows.end; ++i) trained[i] = shard.item_users.row_nnz(i);
  NUDGE_RETURN_IF_ERROR(comm.allreduce_sum(std::span<uint64_t>(trained)));
  return trained;
}

Status average(Communicator& comm, TwoTowerModel* model) {
  FactorMatrix& rows = model->embeddings();
  std::vector<float>& biases = model->biases();
  NUDGE_RETURN_IF_ERROR(comm.allreduce_sum(std::span<float>(rows.data(), static_cast<size_t>(rows.size()))));
  NUDGE_RETURN_IF_ERROR(comm.allreduce_sum(std::span<float>(biases)));
  const float share = 1.f / static_cast<float>(comm.size());
  rows *= share;
  for (float& b : biases) b *= share;
  return Status::ok();
}

}  // namespace

Status train_two_tower(Communicator& comm, const Shard& shard, int64_t average_every, TwoTowerModel* model) {
  if (average_every < 1) return Status::invalid_argument("average_every must be at least 1");
  comm.set_step("laying out the tokens");
  NUDGE_ASSIGN_OR_RETURN(const std::vector<uint64_t> trained, trained_items(comm, shard));
  Rng rng(static_cast<uint64_t>(model->options().seed));
  model->begin_rounds(shard.users, trained, rng);
  // One rank samples as single-node fit does; more each draw their own stream.
  Rng stream = comm.size() == 1 ? rng : rng.fork(static_cast<uint64_t>(comm.rank()));
  const int64_t total = model->epochs_to_run();
  for (int64_t first = 0; first < total; first += average_every) {
    const int64_t epochs = std::min(average_every, total - first);
    comm.set_step("epochs " + std::to_string(first + 1) + "-" + std::to_string(first + epochs) + " of " +
                  std::to_string(total));
    if (comm.rank() == 0) spdlog::info("{}", comm.step());
    model->train_round(shard.users, first, epochs, total, stream);
    if (comm.size() > 1) NUDGE_RETURN_IF_ERROR(average(comm, model));
  }
  return Status::ok();
}

}  // namespace nudge::distributed
