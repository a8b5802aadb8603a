// Sharded reading for distributed training: each rank of an MPI job reads a part of one
// interactions file, and the ranks end up with one catalogue and each its own users' and
// items' events.
//
// The catalogue (every user, item and event type, and the feature files, which every rank
// reads whole) is replicated and indexed exactly as single-node reading of the whole file
// indexes it (first appearance in file order), so a distributed model file is read like any
// other and equals the single-node one row for row. The interactions are not replicated:
// users and items are sharded in contiguous blocks (owned_rows), each event goes to the rank
// owning its user, where it is cleaned (duplicates and repeats are per user: the same
// cleaning as single-node), and each cleaned (user, item) weight to the rank owning its item.
//
// Memory per rank: the catalogue's IDs and features, its part of the file while it is read,
// and its users' and items' events. k-core filtering (global and iterative) is refused.
#pragma once

#include <cstdint>
#include <string>

#include "nudge/cleaning.h"
#include "nudge/dataset.h"
#include "nudge/distributed/communicator.h"
#include "nudge/readers.h"

namespace nudge::distributed {

// The bytes [begin, end) of a file that rank `rank` of `size` reads: equal shares cut at the
// next line start, so each line is read by exactly one rank.
struct FilePart {
  uint64_t begin = 0, end = 0;
};
Result<FilePart> file_part(const std::string& path, int rank, int size);

struct ShardOptions {
  std::string path;  // the interactions file
  ReadOptions read;
  CleanOptions clean;
  std::string item_features, user_features;  // optional; read whole by every rank
  FeatureReadOptions features;
};

struct Shard {
  Dataset users;         // the global catalogue; the events of the users in user_rows only
  CsrMatrix item_users;  // num_items x num_users, rows in item_rows filled: users.user_items() transposed
  RowRange user_rows, item_rows;
  uint64_t events = 0;  // cleaned events over all ranks
};

// Collective. Errors name the file and line (as single-node reading does) and the rank.
Result<Shard> read_shard(Communicator& comm, const ShardOptions& options);

// Collective. Rank 0: the whole cleaned dataset over the shard's catalogue (each user's
// events in file order, users grouped by rank), what the model file's history and the
// two-tower model's user histories are made from; other ranks: no interactions.
Result<Dataset> gather_dataset(Communicator& comm, const Shard& shard);

}  // namespace nudge::distributed
