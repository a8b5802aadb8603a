#include "line_source.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/text.h"

namespace nudge {

namespace {
constexpr size_t kChunk = 1 << 22;  // 4 MiB reads keep syscalls rare without a big footprint
}

Result<LineSource> LineSource::open_file(const std::string& path) {
  LineSource src;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::io_error("cannot open '" + path + "': " + std::strerror(errno));
  src.file_.reset(f);
  src.path_ = path;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  src.progress_ = std::make_unique<Progress>("reading " + path, ec ? 0 : size);
  return src;
}

LineSource LineSource::from_text(std::string_view text, uint64_t lines_before) {
  LineSource src;
  src.text_ = text;
  src.line_number_ = lines_before;
  src.eof_ = true;
  return src;
}

bool LineSource::refill() {
  if (eof_ || !file_) return false;
  // Keep the unread tail, then append a new chunk after it.
  std::string tail(text_);
  buffer_.swap(tail);
  const size_t old = buffer_.size();
  buffer_.resize(old + kChunk);
  const size_t got = std::fread(buffer_.data() + old, 1, kChunk, file_.get());
  buffer_.resize(old + got);
  if (progress_) progress_->advance(got);
  if (got < kChunk) {
    if (std::ferror(file_.get())) status_ = Status::io_error("error reading '" + path_ + "': " + std::strerror(errno));
    eof_ = true;
  }
  text_ = buffer_;
  return got > 0;
}

bool LineSource::next_non_blank(std::string_view* line, uint64_t* lines_seen) {
  while (next(line)) {
    ++*lines_seen;
    if (!trim(*line).empty()) return true;
  }
  return false;
}

bool LineSource::next(std::string_view* line) {
  for (;;) {
    const size_t nl = text_.find('\n');
    if (nl != std::string_view::npos) {
      *line = text_.substr(0, nl);
      text_.remove_prefix(nl + 1);
      break;
    }
    if (!refill()) {
      if (!status_.is_ok() || text_.empty()) return false;
      *line = text_;  // last line without a newline
      text_ = {};
      break;
    }
  }
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  // A UTF-8 byte order mark (Excel writes one) is not part of the first field.
  if (line_number_ == 0 && line->starts_with("\xEF\xBB\xBF")) line->remove_prefix(3);
  ++line_number_;
  return true;
}

}  // namespace nudge
