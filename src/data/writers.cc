#include "nudge/writers.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/atomic_file.h"

namespace nudge {
namespace {

void append_field(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos && (s.empty() || (s.front() != ' ' && s.back() != ' '))) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_number(std::string& out, float v) {
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

// Moves `chunk` into the file once it holds a megabyte (or when `force`d), then empties it.
void flush_chunk(AtomicFile& file, std::string& chunk, bool force) {
  if (!force && chunk.size() <= (1 << 20)) return;
  file.append(chunk);
  chunk.clear();
}

}  // namespace

Status write_interactions_csv(const Dataset& dataset, const std::string& path) {
  AtomicFile file(path);
  NUDGE_RETURN_IF_ERROR(file.status());
  const auto& in = dataset.interactions();
  const auto& cat = dataset.catalog();
  std::string buf = "user_id,item_id,type,value,timestamp\n";
  for (size_t r = 0; r < in.size(); ++r) {
    append_field(buf, cat.users.id_of(in.users[r]));
    buf += ',';
    append_field(buf, cat.items.id_of(in.items[r]));
    buf += ',';
    append_field(buf, cat.event_types.name(in.types[r]));
    buf += ',';
    append_number(buf, in.values[r]);
    buf += ',';
    buf += std::to_string(in.timestamps[r]);
    buf += '\n';
    flush_chunk(file, buf, false);
  }
  flush_chunk(file, buf, true);
  return file.commit();
}

Status write_features_csv(const FeatureTable& table, const IdMap& ids, const std::string& id_header,
                          const std::string& path) {
  AtomicFile file(path);
  NUDGE_RETURN_IF_ERROR(file.status());
  std::string buf = id_header;
  for (const auto& f : table.fields()) {
    buf += ',';
    append_field(buf,
                 f.name + (f.kind == FeatureKind::kCategorical ? "" : ":" + std::string(feature_kind_name(f.kind))));
  }
  buf += '\n';
  std::vector<std::string> cells(table.fields().size());
  for (uint32_t e = 0; e < ids.size(); ++e) {
    for (auto& c : cells) c.clear();
    for (uint32_t tok : table.tokens(e)) {
      std::string& c = cells[table.token_field(tok)];
      if (!c.empty()) c += '|';
      c += table.token_value(tok);
    }
    append_field(buf, ids.id_of(e));
    for (uint32_t f = 0; f < cells.size(); ++f) {
      buf += ',';
      if (table.fields()[f].kind == FeatureKind::kNumeric) {
        const float v = table.numeric(e, f);
        if (!std::isnan(v)) append_number(buf, v);
      } else {
        append_field(buf, cells[f]);
      }
    }
    buf += '\n';
    flush_chunk(file, buf, false);
  }
  flush_chunk(file, buf, true);
  return file.commit();
}

}  // namespace nudge
