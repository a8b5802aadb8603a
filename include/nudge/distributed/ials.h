// iALS trained by the ranks of an MPI job together (nudge-train-mpi).
//
// Users and items are sharded as the Shard holds them. Each half-sweep: every rank sums the
// Gram matrix of its own rows of the fixed side, one allreduce of f x f floats gives the
// whole Gram matrix, every rank solves its own rows (IalsModel::solve_rows, the single-node
// solver), and an allgather sends each rank's new rows to the others ("all-gather", not yet
// Spark's out-block exchange: every rank holds both factor matrices). The factors start
// from the same seeded draw as IalsModel::fit, so the model equals the single-node one up
// to the order in which the Gram matrix's terms are summed.
//
// Per iteration and rank: 4 f^2 (p-1)/p bytes of allreduce and (users + items) x f x 4
// bytes of allgather in all (each rank sends its 1/p to each other rank).
#pragma once

#include <memory>

#include "nudge/distributed/communicator.h"
#include "nudge/distributed/shard.h"
#include "nudge/models/ials.h"

namespace nudge::distributed {

// Collective. On return every rank holds the whole fitted model; `model` is unfitted, with
// the options and parameters to train with.
Status train_ials(Communicator& comm, const Shard& shard, IalsModel* model);

}  // namespace nudge::distributed
