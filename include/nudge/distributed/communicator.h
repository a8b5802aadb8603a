// Communicator: the ranks of one MPI job and the collective operations distributed training
// uses (nudge-train-mpi; docs/scale-out.md).
//
// Open MPI does the transport (shared memory, TCP, InfiniBand) and the launching (mpirun);
// this class only gives its collectives Nudge's Status and counts what each rank sends. Every
// operation is collective: all ranks call it, in the same order. Errors return a Status that
// names the rank and the step (set_step) it failed in. A rank that cannot go on calls abort(),
// which ends every rank of the job: a collective cannot finish without all of them.
//
// Thread-safety: call from one thread (the MPI library is initialised MPI_THREAD_FUNNELED;
// the models' own threads never call it).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/status.h"

namespace nudge::distributed {

// Rows [begin, end) of a matrix sharded in equal contiguous blocks, rank r holding
// [rows * r / size, rows * (r + 1) / size).
struct RowRange {
  uint32_t begin = 0, end = 0;
  uint32_t size() const { return end - begin; }
  bool contains(uint32_t row) const { return row >= begin && row < end; }
};
RowRange owned_rows(uint32_t rows, int rank, int size);
// The rank whose owned_rows hold `row`.
int owner_of(uint32_t row, uint32_t rows, int size);

class Communicator {
 public:
  // Initialises MPI for this process (once) and installs the SIGTERM handler that, when
  // mpirun ends the job because another rank died, says which step this rank was in.
  static Result<std::unique_ptr<Communicator>> init(int* argc, char*** argv);
  ~Communicator();  // MPI_Finalize
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Ranks on this machine (sharing its cores), this rank's index among them.
  int local_size() const { return local_size_; }
  const std::string& host() const { return host_; }

  // What the job does now ("iteration 3 of 15: user factors"): named in errors, in abort()
  // and by the signal handler.
  void set_step(std::string step);
  const std::string& step() const { return step_; }
  // "rank 1 of 3 (host, pid 4242), step 'reading ...'": the prefix of every message.
  std::string where() const;

  Status barrier();
  Status allreduce_sum(std::span<float> values);
  Status allreduce_sum(std::span<double> values);
  Status allreduce_sum(std::span<uint64_t> values);
  // The sum of `value` over the ranks before this one (0 on rank 0).
  Result<uint64_t> exclusive_sum(uint64_t value);
  // In place: `rows` is a row-major matrix of `width` floats a row, sharded by owned_rows;
  // each rank's own block goes to every other rank.
  Status allgather_rows(std::span<float> rows, uint32_t num_rows, size_t width);
  // Every rank's bytes to every rank: sends[r] goes to rank r (sends.size() == size());
  // the answer's [r] is what rank r sent here, in rank order.
  Result<std::vector<std::string>> all_to_all(const std::vector<std::string>& sends);
  // Every rank's `mine`, in rank order.
  Result<std::vector<std::string>> all_gather(std::string_view mine);

  // Bytes this rank has sent, counted as bandwidth-optimal algorithms send them: 2 (p-1)/p n
  // for an allreduce of n bytes (ring), its block to each other rank for an allgather, what
  // it addressed to other ranks for an all-to-all. Measured traffic is in bench/mpi_train.sh.
  uint64_t bytes_sent() const { return bytes_sent_; }

  // Logs `error` with where() and ends the whole job (MPI_Abort, exit status 1 from mpirun).
  [[noreturn]] void abort(const Status& error);

 private:
  Communicator() = default;
  Status check(int code, std::string_view call) const;
  uint64_t ring_bytes(size_t bytes) const;  // what a ring allreduce of `bytes` sends per rank
  int rank_ = 0, size_ = 1, local_size_ = 1;
  std::string host_;
  std::string step_;
  uint64_t bytes_sent_ = 0;
};

}  // namespace nudge::distributed
