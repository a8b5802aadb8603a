// The two-tower model trained data-parallel by the ranks of an MPI job (nudge-train-mpi).
//
// Local SGD with model averaging: every rank starts from the same seeded rows, trains
// `average_every` epochs on its own users (the whole catalogue: the softmax loss scores every
// item), then one allreduce averages the embeddings and biases; the learning rate follows
// single-node fit's schedule epoch by epoch. The model has no per-user rows (a user is their
// attributes and items), so every row is shared and averaging is over all ranks. Per round
// and rank: 2 (p-1)/p x rows x (factors + 1) x 4 bytes. Fewer averages send less and
// drift more: docs/scale-out.md has the measured trade-off.
#pragma once

#include "nudge/distributed/communicator.h"
#include "nudge/distributed/shard.h"
#include "nudge/models/two_tower.h"

namespace nudge::distributed {

// Collective. On return every rank holds the averaged rows laid out on its shard; the rank
// that writes the model calls model->end_rounds(whole dataset) first.
Status train_two_tower(Communicator& comm, const Shard& shard, int64_t average_every, TwoTowerModel* model);

}  // namespace nudge::distributed
