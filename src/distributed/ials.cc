#include "nudge/distributed/ials.h"

#include "nudge/log.h"

namespace nudge::distributed {

namespace {

// The Gram matrix m' m of the whole matrix, each rank adding its own rows' part.
Status gram_of(Communicator& comm, const FactorMatrix& m, RowRange own, Eigen::MatrixXf* gram) {
  const auto block = m.middleRows(own.begin, own.size());
  *gram = block.transpose() * block;
  return comm.allreduce_sum(std::span<float>(gram->data(), static_cast<size_t>(gram->size())));
}

}  // namespace

Status train_ials(Communicator& comm, const Shard& shard, IalsModel* model) {
  const IalsOptions& o = model->options();
  if (o.training_loss) return Status::unsupported("ials: training_loss is not distributed (nudge train computes it)");
  const Dataset& data = shard.users;
  // The same draw as IalsModel::fit: users first, then items, from one seeded stream.
  Rng rng(static_cast<uint64_t>(o.seed));
  FactorMatrix users = random_factors(data.num_users(), o.factors, o.init_scale, rng);
  FactorMatrix items = random_factors(data.num_items(), o.factors, o.init_scale, rng);
  const auto f = static_cast<size_t>(o.factors);
  Eigen::MatrixXf gram;
  for (int64_t it = 0; it < o.iterations; ++it) {
    const std::string iteration = "iteration " + std::to_string(it + 1) + " of " + std::to_string(o.iterations);
    comm.set_step(iteration + ": user factors");
    if (comm.rank() == 0) spdlog::info("{}", comm.step());
    NUDGE_RETURN_IF_ERROR(gram_of(comm, items, shard.item_rows, &gram));
    model->solve_rows(data.user_items(), shard.user_rows.begin, shard.user_rows.end, items, gram, &users);
    NUDGE_RETURN_IF_ERROR(
        comm.allgather_rows(std::span<float>(users.data(), static_cast<size_t>(users.size())), data.num_users(), f));
    comm.set_step(iteration + ": item factors");
    NUDGE_RETURN_IF_ERROR(gram_of(comm, users, shard.user_rows, &gram));
    model->solve_rows(shard.item_users, shard.item_rows.begin, shard.item_rows.end, users, gram, &items);
    NUDGE_RETURN_IF_ERROR(
        comm.allgather_rows(std::span<float>(items.data(), static_cast<size_t>(items.size())), data.num_items(), f));
  }
  model->set_factors(std::move(users), std::move(items));
  return Status::ok();
}

}  // namespace nudge::distributed
