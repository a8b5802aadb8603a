// SVG charts as text, for the self-contained HTML report: no scripts, no fonts or styles from
// outside, well-formed XML (a test parses it). Points that are not finite are left out.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace nudge::report {

struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  std::vector<bool> hollow;  // optional, per point: drawn as an outline (e.g. a partial trial)
  int colour = -1;           // palette index; -1: the series' position
};

struct XyChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool lines = true;          // false: points only (scatter)
  bool log_x = false;         // x on a log10 scale (non-positive x are left out)
  bool label_points = false;  // each point labelled with its series name (scatter of models)
};

std::string svg_xy_chart(const XyChart& chart, const std::vector<Series>& series);

// One bar per (label, value), labelled under the axis.
std::string svg_bar_chart(const std::string& title, const std::string& y_label,
                          const std::vector<std::pair<std::string, double>>& bars);

// Text safe inside HTML/SVG elements and attributes.
std::string xml_escape(const std::string& text);

// "Nice" axis ticks covering [lo, hi] (steps of 1, 2 or 5 x 10^n), about `count` of them.
std::vector<double> nice_ticks(double lo, double hi, int count);

}  // namespace nudge::report
