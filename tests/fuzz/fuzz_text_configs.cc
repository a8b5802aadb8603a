// libFuzzer target: the small text parsers behind command-line flags and config files:
// reader options (JSON), `nudge serve` config (TOML, with its experiment checked), model specs ("ials:factors=64,..."),
// column mappings, the JSON files `nudge report` reads and `nudge tune`'s search ranges. The
// first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/params.h"
#include "nudge/readers.h"
#include "nudge/report.h"
#include "nudge/search_space.h"
#include "nudge/serve/config.h"
#include "serve/experiment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0: nudge::read_options_from_json_text(text, "fuzz.json"); break;
    case 1: {
      auto config = nudge::serve::default_serve_config();
      // An experiment read from the file is then checked whole, as `nudge serve` does.
      if (nudge::serve::parse_serve_config(text, "fuzz.toml", &config).is_ok() && !config.experiment.name.empty()) {
        std::vector<std::string> arms;
        for (const auto& arm : config.engine.arms) arms.push_back(arm.name);
        nudge::serve::Experiment::create(config.experiment, arms);
      }
      break;
    }
    case 2: nudge::Params::parse(text); break;
    case 4: {
      nudge::ReportInput input;
      if (nudge::add_report_json(text, "fuzz.json", &input).is_ok()) nudge::render_report_html(input);
      break;
    }
    case 5: nudge::parse_dimension(text); break;
    default: {
      nudge::ColumnMapping columns;
      columns.parse(text);
      nudge::parse_input_format(text);
      break;
    }
  }
  return 0;
}
