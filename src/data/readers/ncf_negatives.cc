// NCF's test.negative files (He et al. 2017): "(user,item)\tneg\tneg..." per line.
#include "common/text.h"
#include "data/readers/line_source.h"
#include "nudge/readers.h"

namespace nudge {

Result<NegativeLists> read_ncf_negatives(const std::string& path, const Catalog& catalog) {
  NUDGE_ASSIGN_OR_RETURN(LineSource src, LineSource::open_file(path));
  NegativeLists out;
  std::string_view line;
  while (src.next(&line)) {
    if (trim(line).empty()) continue;
    const std::string place = path + ":" + std::to_string(src.line_number());
    auto fields = split_view(line, '\t');
    const std::string_view head = trim(fields[0]);
    if (head.size() < 5 || head.front() != '(' || head.back() != ')' || head.find(',') == std::string_view::npos) {
      return Status::invalid_argument(place + ": expected '(user,item)' first, got " + quote_for_error(head));
    }
    const std::string_view inner = head.substr(1, head.size() - 2);
    const std::string_view user_id = trim(inner.substr(0, inner.find(',')));
    auto user = catalog.users.find(user_id);
    if (!user) return Status::invalid_argument(place + ": unknown user " + quote_for_error(user_id));
    auto& list = out[*user];
    list.clear();
    for (size_t f = 1; f < fields.size(); ++f) {
      const std::string_view id = trim(fields[f]);
      if (id.empty()) continue;
      auto item = catalog.items.find(id);
      if (!item) return Status::invalid_argument(place + ": unknown item " + quote_for_error(id));
      list.push_back(*item);
    }
  }
  NUDGE_RETURN_IF_ERROR(src.status());
  return out;
}

}  // namespace nudge
