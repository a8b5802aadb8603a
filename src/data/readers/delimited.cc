#include "delimited.h"

#include "common/text.h"

namespace nudge {

Status FieldSplitter::split(std::string_view line, std::vector<std::string_view>* fields) {
  fields->clear();
  unescaped_.clear();
  size_t pos = 0;
  for (;;) {
    if (quoting_ && pos < line.size() && line[pos] == '"') {
      // Quoted field: runs to the closing quote; "" stands for one quote.
      size_t i = pos + 1;
      bool escaped = false;
      for (;;) {
        const size_t q = line.find('"', i);
        if (q == std::string_view::npos) {
          return Status::invalid_argument("unterminated quoted field starting at column " + std::to_string(pos + 1));
        }
        if (q + 1 < line.size() && line[q + 1] == '"') {
          escaped = true;
          i = q + 2;
          continue;
        }
        i = q;
        break;
      }
      std::string_view raw = line.substr(pos + 1, i - pos - 1);
      if (escaped) {
        std::string& s = unescaped_.emplace_back();
        for (size_t k = 0; k < raw.size(); ++k) {
          s += raw[k];
          if (raw[k] == '"') ++k;
        }
        fields->push_back(s);
      } else {
        fields->push_back(raw);
      }
      pos = i + 1;
      if (pos == line.size()) return Status::ok();
      if (line.compare(pos, delimiter_.size(), delimiter_) != 0) {
        return Status::invalid_argument("unexpected text after a quoted field at column " + std::to_string(pos + 1));
      }
      pos += delimiter_.size();
      continue;
    }
    const size_t d = line.find(delimiter_, pos);
    if (d == std::string_view::npos) {
      fields->push_back(trim(line.substr(pos)));
      return Status::ok();
    }
    fields->push_back(trim(line.substr(pos, d - pos)));
    pos = d + delimiter_.size();
  }
}

bool FieldSplitter::ends_inside_quotes(std::string_view record) const {
  size_t pos = 0;
  for (;;) {
    if (pos < record.size() && record[pos] == '"') {
      size_t i = pos + 1;
      for (;;) {
        const size_t q = record.find('"', i);
        if (q == std::string_view::npos) return true;
        if (q + 1 < record.size() && record[q + 1] == '"') {
          i = q + 2;
          continue;
        }
        pos = q + 1;
        break;
      }
    }
    const size_t d = record.find(delimiter_, pos);
    if (d == std::string_view::npos) return false;
    pos = d + delimiter_.size();
  }
}

void FieldSplitter::complete_record(LineSource& src, std::string_view* record, std::string* storage,
                                    uint64_t* lines_seen) const {
  if (!quoting_ || !ends_inside_quotes(*record)) return;
  storage->assign(*record);
  std::string_view more;
  while (storage->size() <= kMaxRecordBytes && src.next(&more)) {
    ++*lines_seen;
    storage->append("\n").append(more);
    if (!ends_inside_quotes(*storage)) break;
  }
  *record = *storage;
}

}  // namespace nudge
