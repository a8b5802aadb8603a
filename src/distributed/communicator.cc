#include "nudge/distributed/communicator.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <csignal>
#include <cstring>
#include <functional>

#include "nudge/log.h"

namespace nudge::distributed {

RowRange owned_rows(uint32_t rows, int rank, int size) {
  const auto at = [&](int r) {
    return static_cast<uint32_t>(static_cast<uint64_t>(rows) * static_cast<uint64_t>(r) / static_cast<uint64_t>(size));
  };
  return {at(rank), at(rank + 1)};
}

int owner_of(uint32_t row, uint32_t rows, int size) {
  // The largest r with rows * r / size <= row, adjusted for the floor in owned_rows.
  int r = static_cast<int>(static_cast<uint64_t>(row) * static_cast<uint64_t>(size) / rows);
  while (r + 1 < size && owned_rows(rows, r + 1, size).begin <= row) ++r;
  while (r > 0 && owned_rows(rows, r, size).begin > row) --r;
  return r;
}

namespace {

// What the signal handler writes: built in set_step (not in the handler, which may only call
// async-signal-safe functions), two buffers so a step change never tears the one being read.
struct SignalMessage {
  std::array<std::array<char, 512>, 2> text{};
  std::array<size_t, 2> length{};
  std::atomic<int> current{0};
};
SignalMessage g_message;

void on_signal(int sig) {
  const int k = g_message.current.load(std::memory_order_acquire);
  std::array<char, 24> digits{};
  size_t n = 0;
  for (int v = sig; v > 0 && n < digits.size(); v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
  constexpr std::string_view kSignal = "nudge-train-mpi: signal ";
  ssize_t ignored = ::write(STDERR_FILENO, kSignal.data(), kSignal.size());
  for (size_t i = n; i > 0; --i) ignored = ::write(STDERR_FILENO, &digits[i - 1], 1);
  ignored =
      ::write(STDERR_FILENO, g_message.text[static_cast<size_t>(k)].data(), g_message.length[static_cast<size_t>(k)]);
  (void)ignored;
  ::_exit(128 + sig);
}

template <typename T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}
template <>
MPI_Datatype mpi_type<uint64_t>() {
  return MPI_UINT64_T;
}

// MPI counts are ints: longer arrays go in pieces of at most this many elements.
constexpr size_t kMaxCount = size_t{1} << 30;

template <typename T>
Status allreduce_in_pieces(std::span<T> values, const std::function<Status(int, std::string_view)>& check) {
  for (size_t begin = 0; begin < values.size(); begin += kMaxCount) {
    const size_t n = std::min(kMaxCount, values.size() - begin);
    NUDGE_RETURN_IF_ERROR(check(
        MPI_Allreduce(MPI_IN_PLACE, values.data() + begin, static_cast<int>(n), mpi_type<T>(), MPI_SUM, MPI_COMM_WORLD),
        "MPI_Allreduce"));
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Communicator>> Communicator::init(int* argc, char*** argv) {
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return Status::internal("MPI_Init_thread failed");
  // Errors come back as codes (turned into a Status naming the rank and step) instead of
  // ending the process inside the library with a message that names neither.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  std::unique_ptr<Communicator> c(new Communicator());
  MPI_Comm_rank(MPI_COMM_WORLD, &c->rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &c->size_);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank_, MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &c->local_size_);
  MPI_Comm_free(&local);
  std::array<char, MPI_MAX_PROCESSOR_NAME> name{};
  int length = 0;
  MPI_Get_processor_name(name.data(), &length);
  c->host_.assign(name.data(), static_cast<size_t>(length));
  c->set_step("starting");
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  return c;
}

Communicator::~Communicator() { MPI_Finalize(); }

void Communicator::set_step(std::string step) {
  step_ = std::move(step);
  const std::string text = " ended " + where() + "; no model is written\n";
  const int next = 1 - g_message.current.load(std::memory_order_relaxed);
  auto& buffer = g_message.text[static_cast<size_t>(next)];
  const size_t n = std::min(text.size(), buffer.size());
  std::memcpy(buffer.data(), text.data(), n);
  g_message.length[static_cast<size_t>(next)] = n;
  g_message.current.store(next, std::memory_order_release);
}

std::string Communicator::where() const {
  return "rank " + std::to_string(rank_) + " of " + std::to_string(size_) + " (" + host_ + ", pid " +
         std::to_string(::getpid()) + "), step '" + step_ + "'";
}

Status Communicator::check(int code, std::string_view call) const {
  if (code == MPI_SUCCESS) return Status::ok();
  std::array<char, MPI_MAX_ERROR_STRING> text{};
  int length = 0;
  MPI_Error_string(code, text.data(), &length);
  return Status::internal(where() + ": " + std::string(call) + ": " + std::string(text.data(), length));
}

uint64_t Communicator::ring_bytes(size_t bytes) const {
  const auto p = static_cast<uint64_t>(size_);
  return 2 * (p - 1) * bytes / p;
}

Status Communicator::barrier() { return check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

Status Communicator::allreduce_sum(std::span<float> values) {
  bytes_sent_ += ring_bytes(values.size_bytes());
  return allreduce_in_pieces(values, [this](int code, std::string_view call) { return check(code, call); });
}

Status Communicator::allreduce_sum(std::span<double> values) {
  bytes_sent_ += ring_bytes(values.size_bytes());
  return allreduce_in_pieces(values, [this](int code, std::string_view call) { return check(code, call); });
}

Status Communicator::allreduce_sum(std::span<uint64_t> values) {
  bytes_sent_ += ring_bytes(values.size_bytes());
  return allreduce_in_pieces(values, [this](int code, std::string_view call) { return check(code, call); });
}

Result<uint64_t> Communicator::exclusive_sum(uint64_t value) {
  uint64_t before = 0;
  NUDGE_RETURN_IF_ERROR(check(MPI_Exscan(&value, &before, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD), "MPI_Exscan"));
  bytes_sent_ += sizeof value;
  return rank_ == 0 ? 0 : before;  // MPI leaves rank 0's result undefined
}

Status Communicator::allgather_rows(std::span<float> rows, uint32_t num_rows, size_t width) {
  if (rows.size() != static_cast<size_t>(num_rows) * width)
    return Status::invalid_argument(where() + ": allgather_rows: matrix of the wrong size");
  if (width == 0 || width > INT_MAX) return Status::invalid_argument(where() + ": allgather_rows: bad row width");
  // One datatype per row, so counts are rows (ints reach 2^31 rows, not 2^31 floats).
  MPI_Datatype row;
  MPI_Type_contiguous(static_cast<int>(width), MPI_FLOAT, &row);
  MPI_Type_commit(&row);
  std::vector<int> counts(static_cast<size_t>(size_)), offsets(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    const RowRange range = owned_rows(num_rows, r, size_);
    counts[static_cast<size_t>(r)] = static_cast<int>(range.size());
    offsets[static_cast<size_t>(r)] = static_cast<int>(range.begin);
  }
  const Status s = check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, rows.data(), counts.data(), offsets.data(),
                                        row, MPI_COMM_WORLD),
                         "MPI_Allgatherv");
  MPI_Type_free(&row);
  bytes_sent_ +=
      static_cast<uint64_t>(size_ - 1) * uint64_t{owned_rows(num_rows, rank_, size_).size()} * width * sizeof(float);
  return s;
}

Result<std::vector<std::string>> Communicator::all_to_all(const std::vector<std::string>& sends) {
  const auto p = static_cast<size_t>(size_);
  if (sends.size() != p) return Status::invalid_argument(where() + ": all_to_all: one message per rank expected");
  std::vector<uint64_t> send_sizes(p), recv_sizes(p);
  for (size_t r = 0; r < p; ++r) send_sizes[r] = sends[r].size();
  NUDGE_RETURN_IF_ERROR(
      check(MPI_Alltoall(send_sizes.data(), 1, MPI_UINT64_T, recv_sizes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD),
            "MPI_Alltoall"));
  std::vector<int> send_counts(p), send_offsets(p), recv_counts(p), recv_offsets(p);
  uint64_t send_total = 0, recv_total = 0;
  for (size_t r = 0; r < p; ++r) {
    send_offsets[r] = static_cast<int>(send_total);
    recv_offsets[r] = static_cast<int>(recv_total);
    send_counts[r] = static_cast<int>(send_sizes[r]);
    recv_counts[r] = static_cast<int>(recv_sizes[r]);
    send_total += send_sizes[r];
    recv_total += recv_sizes[r];
    if (send_total > INT_MAX || recv_total > INT_MAX)
      return Status::too_large(where() + ": all_to_all: over 2 GiB in one exchange (MPI counts are ints)");
  }
  std::string out_buffer, in_buffer(recv_total, '\0');
  out_buffer.reserve(send_total);
  for (const auto& s : sends) out_buffer += s;
  NUDGE_RETURN_IF_ERROR(
      check(MPI_Alltoallv(out_buffer.data(), send_counts.data(), send_offsets.data(), MPI_BYTE, in_buffer.data(),
                          recv_counts.data(), recv_offsets.data(), MPI_BYTE, MPI_COMM_WORLD),
            "MPI_Alltoallv"));
  bytes_sent_ += send_total - send_sizes[static_cast<size_t>(rank_)];
  std::vector<std::string> received(p);
  for (size_t r = 0; r < p; ++r) received[r] = in_buffer.substr(static_cast<size_t>(recv_offsets[r]), recv_sizes[r]);
  return received;
}

Result<std::vector<std::string>> Communicator::all_gather(std::string_view mine) {
  std::vector<std::string> sends(static_cast<size_t>(size_), std::string(mine));
  return all_to_all(sends);
}

void Communicator::abort(const Status& error) {
  spdlog::error("nudge-train-mpi: {}: {}; ending the job, no model is written", where(), error.message());
  spdlog::default_logger()->flush();
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);  // MPI_Abort does not return; this says so to the compiler
}

}  // namespace nudge::distributed
