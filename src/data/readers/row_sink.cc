#include "row_sink.h"

#include "nudge/input_limits.h"

#include "common/text.h"

namespace nudge {

Status RejectLog::reject(uint64_t line, std::string reason) {
  ++report_.rows_rejected;
  if (strict_) return Status::invalid_argument(place(line) + ": " + reason);
  if (report_.rejects.size() < max_kept_) report_.rejects.push_back({place(line), std::move(reason)});
  return Status::ok();
}

Status RowSink::add(uint64_t line, const RawRow& row) {
  if (auto why = id_problem(row.user)) return log_.reject(line, "field 'user': " + *why);
  if (auto why = id_problem(row.item)) return log_.reject(line, "field 'item': " + *why);
  if (row.value) {
    if (auto why = value_problem(*row.value)) return log_.reject(line, "field 'value': " + *why);
  }
  if (row.timestamp) {
    if (auto why = timestamp_problem(*row.timestamp)) return log_.reject(line, "field 'timestamp': " + *why);
  }
  EventType type = default_type_;
  if (row.type) {
    if (row.type->empty()) return log_.reject(line, "field 'type': empty event type");
    if (auto why = text_problem(*row.type, kMaxEventTypeBytes)) return log_.reject(line, "field 'type': " + *why);
    auto t = builder_.catalog().event_types.intern(*row.type);
    if (!t.is_ok()) return log_.reject(line, "field 'type': " + t.status().message());
    type = *t;
  }
  const uint32_t user = builder_.catalog().users.intern(row.user);
  const uint32_t item = builder_.catalog().items.intern(row.item);
  builder_.interactions().push_back(user, item, type, row.value ? static_cast<float>(*row.value) : 1.f,
                                    row.timestamp.value_or(0));
  ++log_.report().rows_kept;
  return Status::ok();
}

}  // namespace nudge
