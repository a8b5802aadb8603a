#include "nudge/distributed/shard.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "nudge/log.h"

namespace nudge::distributed {

namespace {

Result<uint64_t> size_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Status::io_error(path + ": cannot open: " + std::strerror(errno));
  return static_cast<uint64_t>(in.tellg());
}

Result<std::string> read_bytes(const std::string& path, uint64_t begin, uint64_t count) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path + ": cannot open: " + std::strerror(errno));
  std::string out(count, '\0');
  in.seekg(static_cast<std::streamoff>(begin));
  in.read(out.data(), static_cast<std::streamsize>(count));
  if (static_cast<uint64_t>(in.gcount()) != count)
    return Status::io_error(path + ": short read at byte " +
                            std::to_string(begin + static_cast<uint64_t>(in.gcount())));
  return out;
}

// The first line start at or after `at` (the file's size when there is none).
Result<uint64_t> line_start_from(const std::string& path, uint64_t at, uint64_t file_size) {
  if (at == 0) return uint64_t{0};
  constexpr uint64_t kWindow = 1 << 16;
  for (uint64_t pos = at - 1; pos < file_size; pos += kWindow) {
    NUDGE_ASSIGN_OR_RETURN(std::string window, read_bytes(path, pos, std::min(kWindow, file_size - pos)));
    const size_t nl = window.find('\n');
    if (nl != std::string::npos) return pos + nl + 1;
  }
  return file_size;
}

// The file's first non-blank line (without its line end): the header, if it has one.
Result<std::string> first_line(const std::string& path, uint64_t file_size) {
  NUDGE_ASSIGN_OR_RETURN(std::string head, read_bytes(path, 0, std::min<uint64_t>(file_size, 1 << 20)));
  size_t start = 0;
  while (start < head.size()) {
    size_t end = head.find('\n', start);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) return line;
    start = end + 1;
  }
  return std::string();
}

void put_string(std::string* out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n).append(s);
}

template <typename T>
void put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads what put/put_string wrote; the bytes come from ranks of the same binary.
struct Reader {
  std::string_view bytes;
  size_t at = 0;
  bool done() const { return at >= bytes.size(); }
  template <typename T>
  T get() {
    T value;
    std::memcpy(&value, bytes.data() + at, sizeof value);
    at += sizeof value;
    return value;
  }
  std::string_view get_string() {
    const auto n = get<uint32_t>();
    const std::string_view s = bytes.substr(at, n);
    at += n;
    return s;
  }
};

// The local catalogue's IDs and event types, for every rank to intern in rank order.
std::string encode_names(const Catalog& local) {
  std::string out;
  put(&out, local.users.size());
  for (uint32_t u = 0; u < local.users.size(); ++u) put_string(&out, local.users.id_of(u));
  put(&out, local.items.size());
  for (uint32_t i = 0; i < local.items.size(); ++i) put_string(&out, local.items.id_of(i));
  put(&out, static_cast<uint32_t>(local.event_types.size()));
  for (size_t t = 0; t < local.event_types.size(); ++t) {
    put_string(&out, local.event_types.name(static_cast<EventType>(t)));
    put(&out, local.event_types.weight(static_cast<EventType>(t)));
  }
  return out;
}

// Interns every rank's names in rank order: the order of first appearance in the file.
Status build_catalog(const std::vector<std::string>& names, Catalog* global) {
  for (const std::string& bytes : names) {
    Reader r{bytes};
    for (uint32_t n = r.get<uint32_t>(); n > 0; --n) global->users.intern(r.get_string());
    for (uint32_t n = r.get<uint32_t>(); n > 0; --n) global->items.intern(r.get_string());
    for (uint32_t n = r.get<uint32_t>(); n > 0; --n) {
      const std::string_view name = r.get_string();
      const auto weight = r.get<float>();
      NUDGE_RETURN_IF_ERROR(global->event_types.intern(name).status());
      NUDGE_RETURN_IF_ERROR(global->event_types.set_weight(name, weight));
    }
  }
  return Status::ok();
}

// One event on the wire: 21 bytes.
void put_event(std::string* out, uint32_t user, uint32_t item, EventType type, float value, int64_t timestamp) {
  put(out, user);
  put(out, item);
  put(out, type);
  put(out, value);
  put(out, timestamp);
}

void get_events(const std::vector<std::string>& received, Interactions* out) {
  for (const std::string& bytes : received) {
    Reader r{bytes};
    while (!r.done()) {
      const auto user = r.get<uint32_t>();
      const auto item = r.get<uint32_t>();
      const auto type = r.get<EventType>();
      const auto value = r.get<float>();
      const auto timestamp = r.get<int64_t>();
      out->push_back(user, item, type, value, timestamp);
    }
  }
}

// The local events, in global indices, sent to the ranks owning their users.
Result<Interactions> events_to_user_owners(Communicator& comm, const Dataset& local, const Catalog& global) {
  const Catalog& cat = local.catalog();
  std::vector<uint32_t> users(cat.users.size()), items(cat.items.size());
  for (uint32_t u = 0; u < users.size(); ++u) users[u] = *global.users.find(cat.users.id_of(u));
  for (uint32_t i = 0; i < items.size(); ++i) items[i] = *global.items.find(cat.items.id_of(i));
  std::vector<EventType> types(cat.event_types.size());
  for (size_t t = 0; t < types.size(); ++t)
    types[t] = *global.event_types.find(cat.event_types.name(static_cast<EventType>(t)));
  const Interactions& in = local.interactions();
  std::vector<std::string> sends(static_cast<size_t>(comm.size()));
  for (size_t row = 0; row < in.size(); ++row) {
    const uint32_t u = users[in.users[row]];
    put_event(&sends[static_cast<size_t>(owner_of(u, global.users.size(), comm.size()))], u, items[in.items[row]],
              types[in.types[row]], in.values[row], in.timestamps[row]);
  }
  NUDGE_ASSIGN_OR_RETURN(std::vector<std::string> received, comm.all_to_all(sends));
  Interactions owned;
  get_events(received, &owned);
  return owned;
}

// The owned users' cleaned (user, item) weights, sent to the ranks owning the items.
Result<CsrMatrix> weights_to_item_owners(Communicator& comm, const Dataset& users, RowRange user_rows) {
  const CsrMatrix& ui = users.user_items();
  std::vector<std::string> sends(static_cast<size_t>(comm.size()));
  for (uint32_t u = user_rows.begin; u < user_rows.end; ++u) {
    const auto idx = ui.row_indices(u);
    const auto val = ui.row_values(u);
    for (size_t k = 0; k < idx.size(); ++k) {
      std::string& to = sends[static_cast<size_t>(owner_of(idx[k], users.num_items(), comm.size()))];
      put(&to, idx[k]);
      put(&to, u);
      put(&to, val[k]);
    }
  }
  NUDGE_ASSIGN_OR_RETURN(std::vector<std::string> received, comm.all_to_all(sends));
  std::vector<uint32_t> rows, cols;
  std::vector<float> values;
  for (const std::string& bytes : received) {
    Reader r{bytes};
    while (!r.done()) {
      rows.push_back(r.get<uint32_t>());
      cols.push_back(r.get<uint32_t>());
      values.push_back(r.get<float>());
    }
  }
  return CsrMatrix::from_coo(users.num_items(), users.num_users(), rows, cols, values);
}

// This rank's part of the file, read as single-node reading reads those lines.
Status read_part(Communicator& comm, const ShardOptions& o, DatasetBuilder* local) {
  NUDGE_ASSIGN_OR_RETURN(const uint64_t file_size, size_of(o.path));
  NUDGE_ASSIGN_OR_RETURN(const FilePart part, file_part(o.path, comm.rank(), comm.size()));
  comm.set_step("reading " + o.path + " bytes " + std::to_string(part.begin) + "-" + std::to_string(part.end));
  NUDGE_ASSIGN_OR_RETURN(const std::string text, read_bytes(o.path, part.begin, part.end - part.begin));
  NUDGE_ASSIGN_OR_RETURN(const uint64_t lines_before,
                         comm.exclusive_sum(static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'))));
  ReadReport report;
  Status read;
  if (comm.rank() == 0) {
    read = read_interactions_text(text, o.path, o.read, *local, report);
  } else {
    NUDGE_ASSIGN_OR_RETURN(const std::string head, first_line(o.path, file_size));
    FilePartText p;
    p.text = text;
    p.first_line = lines_before + 1;
    if (is_header_line(head, o.path, o.read)) p.header = head;
    read = read_interactions_part(p, o.path, o.read, *local, report);
  }
  NUDGE_RETURN_IF_ERROR(read);
  spdlog::info("rank {}: {}", comm.rank(), report.summary(o.path));
  return Status::ok();
}

Status read_feature_files(const ShardOptions& o, DatasetBuilder* builder) {
  for (const auto& [path, target] :
       {std::pair{&o.item_features, FeatureTarget::kItems}, std::pair{&o.user_features, FeatureTarget::kUsers}}) {
    if (path->empty()) continue;
    ReadReport report;
    NUDGE_RETURN_IF_ERROR(read_features_file(*path, target, o.features, *builder, report));
  }
  return Status::ok();
}

}  // namespace

Result<FilePart> file_part(const std::string& path, int rank, int size) {
  NUDGE_ASSIGN_OR_RETURN(const uint64_t file_size, size_of(path));
  const auto share = [&](int r) {
    const auto p = static_cast<uint64_t>(size), k = static_cast<uint64_t>(r);
    return file_size / p * k + file_size % p * k / p;  // file_size * k / p without overflow
  };
  FilePart part;
  NUDGE_ASSIGN_OR_RETURN(part.begin, line_start_from(path, share(rank), file_size));
  NUDGE_ASSIGN_OR_RETURN(
      part.end, rank + 1 == size ? Result<uint64_t>(file_size) : line_start_from(path, share(rank + 1), file_size));
  part.end = std::max(part.begin, part.end);
  return part;
}

Result<Shard> read_shard(Communicator& comm, const ShardOptions& o) {
  if (o.clean.min_user_interactions > 0 || o.clean.min_item_interactions > 0)
    return Status::unsupported("k-core filtering (--min-user, --min-item) is not distributed: filter the file first");
  DatasetBuilder local_builder;
  NUDGE_RETURN_IF_ERROR(read_part(comm, o, &local_builder));
  const Dataset local = local_builder.build();
  comm.set_step("building the catalogue");
  NUDGE_ASSIGN_OR_RETURN(std::vector<std::string> names, comm.all_gather(encode_names(local.catalog())));
  DatasetBuilder builder;
  NUDGE_RETURN_IF_ERROR(build_catalog(names, &builder.catalog()));
  names = {};
  comm.set_step("sending events to their users' ranks");
  NUDGE_ASSIGN_OR_RETURN(builder.interactions(), events_to_user_owners(comm, local, builder.catalog()));
  comm.set_step("reading the feature files");
  NUDGE_RETURN_IF_ERROR(read_feature_files(o, &builder));
  comm.set_step("cleaning");
  Shard shard;
  CleanReport report;
  shard.users = clean(builder.build(), o.clean, &report);
  shard.user_rows = owned_rows(shard.users.num_users(), comm.rank(), comm.size());
  shard.item_rows = owned_rows(shard.users.num_items(), comm.rank(), comm.size());
  std::vector<uint64_t> counts = {report.exact_duplicates, report.merged_repeats, report.rows_kept};
  NUDGE_RETURN_IF_ERROR(comm.allreduce_sum(std::span<uint64_t>(counts)));
  shard.events = counts[2];
  if (comm.rank() == 0)
    spdlog::info("cleaned on {} ranks: {} events kept, {} exact duplicates dropped, {} repeats merged", comm.size(),
                 counts[2], counts[0], counts[1]);
  comm.set_step("sending weights to their items' ranks");
  NUDGE_ASSIGN_OR_RETURN(shard.item_users, weights_to_item_owners(comm, shard.users, shard.user_rows));
  return shard;
}

Result<Dataset> gather_dataset(Communicator& comm, const Shard& shard) {
  comm.set_step("gathering the events on rank 0");
  const Interactions& in = shard.users.interactions();
  std::vector<std::string> sends(static_cast<size_t>(comm.size()));
  for (size_t row = 0; row < in.size(); ++row)
    put_event(&sends[0], in.users[row], in.items[row], in.types[row], in.values[row], in.timestamps[row]);
  NUDGE_ASSIGN_OR_RETURN(std::vector<std::string> received, comm.all_to_all(sends));
  Interactions all;
  get_events(received, &all);
  return Dataset(shard.users.catalog_ptr(), std::move(all));
}

}  // namespace nudge::distributed
