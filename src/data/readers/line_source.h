// LineSource: lines of a file read in large chunks, or of text in memory, without copying
// each line. Internal to the readers.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "nudge/progress.h"
#include "nudge/status.h"

namespace nudge {

class LineSource {
 public:
  static Result<LineSource> open_file(const std::string& path);
  // `lines_before`: the text's first line is line lines_before + 1 (a part of a larger file).
  static LineSource from_text(std::string_view text, uint64_t lines_before = 0);

  // Next line without its "\n" / "\r\n"; the view lives until the next call. False at the end
  // or on a read error (see status()).
  bool next(std::string_view* line);
  // Like next(), skipping blank (or whitespace-only) lines; every line read, blank or not,
  // is added to *lines_seen.
  bool next_non_blank(std::string_view* line, uint64_t* lines_seen);
  uint64_t line_number() const { return line_number_; }
  const Status& status() const { return status_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  bool refill();
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::unique_ptr<Progress> progress_;  // bytes read, for files
  std::string path_;
  std::string buffer_;
  std::string_view text_;  // unread part: of buffer_ (file) or of the caller's text
  bool eof_ = false;
  uint64_t line_number_ = 0;
  Status status_;
};

}  // namespace nudge
