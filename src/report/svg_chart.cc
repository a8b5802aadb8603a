#include "report/svg_chart.h"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <limits>

#include "common/text.h"

namespace nudge::report {
namespace {

constexpr double kWidth = 560, kHeight = 320;
constexpr double kLeft = 64, kTop = 36, kBottom = 52;
constexpr double kRight = 16, kLegendRight = 170;  // right margin without and with a legend
// Colour-blind-safe palette (Okabe & Ito 2008).
constexpr const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#F0E442", "#000000"};

const char* colour(size_t k) { return kColours[k % std::size(kColours)]; }
// A series' own colour, or the one of its position.
const char* colour_of(const Series& s, size_t position) {
  return colour(s.colour >= 0 ? static_cast<size_t>(s.colour) : position);
}

std::string number_label(double v) {
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 1e5 || a < 1e-3) return fmt::format("{:.0e}", v);
  return fmt::format("{:.4g}", v);
}

std::string header(const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<title>{2}</title>\n<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n"
      "<text x=\"{3}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{2}</text>\n",
      kWidth, kHeight, xml_escape(title), kLeft);
}

// The plot area's mapping from data to pixels.
struct Frame {
  double x0, x1, y0, y1;
  bool log_x;
  double right = kRight;
  double px(double x) const {
    const double v = log_x ? std::log10(x) : x;
    return kLeft + (v - x0) / (x1 - x0) * (kWidth - kLeft - right);
  }
  double py(double y) const { return kHeight - kBottom - (y - y0) / (y1 - y0) * (kHeight - kTop - kBottom); }
};

std::string axes(const Frame& f, const std::vector<double>& xticks, const std::vector<double>& yticks,
                 const std::string& x_label, const std::string& y_label) {
  std::string out;
  const double bottom = kHeight - kBottom, right = kWidth - f.right;
  for (double t : yticks) {
    const double y = f.py(t);
    out += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#e0e0e0\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
        kLeft, y, right, kLeft - 6, y + 4, number_label(t));
  }
  for (double t : xticks) {
    const double x = f.px(f.log_x ? std::pow(10.0, t) : t);
    out += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#999999\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        x, bottom, bottom + 4, bottom + 16, number_label(f.log_x ? std::pow(10.0, t) : t));
  }
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#333333\"/>\n", kLeft, bottom, right);
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333333\"/>\n", kLeft, kTop, bottom);
  out += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (kLeft + right) / 2,
                     kHeight - 14, xml_escape(x_label));
  out += fmt::format("<text transform=\"translate(14 {:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                     (kTop + bottom) / 2, xml_escape(y_label));
  return out;
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') out += ' ';
        else out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, count);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  // Each tick as n * step, rounded to 12 digits: 0.3, not 0.30000000000000004. At most 50:
  // with |lo| far above the range, n + 1 == n and the loop would not end.
  const double first = std::ceil(lo / step);
  for (int i = 0; i < 50 && (first + i) * step <= hi + step * 1e-9; ++i) {
    const double t = (first + i) * step;
    if (!std::isfinite(t)) break;
    ticks.push_back(t == 0 ? 0.0 : parse_double(fmt::format("{:.12g}", t)).value_or(t));
  }
  return ticks;
}

std::string svg_xy_chart(const XyChart& chart, const std::vector<Series>& series) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double x0 = kInf, x1 = -kInf, y0 = kInf, y1 = -kInf;
  const auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!chart.log_x || x > 0);
  };
  for (const Series& s : series) {
    for (size_t k = 0; k < std::min(s.x.size(), s.y.size()); ++k) {
      if (!usable(s.x[k], s.y[k])) continue;
      const double x = chart.log_x ? std::log10(s.x[k]) : s.x[k];
      x0 = std::min(x0, x), x1 = std::max(x1, x);
      y0 = std::min(y0, s.y[k]), y1 = std::max(y1, s.y[k]);
    }
  }
  std::string out = header(chart.title);
  if (x0 > x1) {
    out += fmt::format("<text x=\"{}\" y=\"{}\">no data</text>\n</svg>\n", kLeft, kHeight / 2);
    return out;
  }
  // Room around single values, and y from 0 when the data is close to it.
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  if (y0 > 0 && y0 < 0.5 * y1) y0 = 0;
  if (y1 - y0 < 1e-12) y0 -= std::max(1e-3, std::fabs(y0) * 0.1), y1 += std::max(1e-3, std::fabs(y1) * 0.1);
  std::vector<double> yticks = nice_ticks(y0, y1, 5);
  std::vector<double> xticks = chart.log_x ? std::vector<double>{} : nice_ticks(x0, x1, 6);
  if (chart.log_x) {
    for (double e = std::ceil(x0 - 1e-9); e <= x1 + 1e-9; e += 1) xticks.push_back(e);
    if (xticks.empty()) xticks.push_back(x0);
  }
  const double pad_x = (x1 - x0) * 0.04, pad_y = (y1 - y0) * 0.06;
  const Frame f{x0 - pad_x, x1 + pad_x, y0, y1 + pad_y, chart.log_x, chart.label_points ? kRight : kLegendRight};
  out += axes(f, xticks, yticks, chart.x_label, chart.y_label);
  for (size_t s = 0; s < series.size(); ++s) {
    const Series& ser = series[s];
    const char* c = colour_of(ser, s);
    std::string points;
    for (size_t k = 0; k < std::min(ser.x.size(), ser.y.size()); ++k) {
      if (!usable(ser.x[k], ser.y[k])) continue;
      const double x = f.px(ser.x[k]), y = f.py(ser.y[k]);
      points += fmt::format("{}{:.1f},{:.1f}", points.empty() ? "" : " ", x, y);
      const bool hollow = k < ser.hollow.size() && ser.hollow[k];
      out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\" stroke=\"{}\"/>\n", x, y,
                         hollow ? "#ffffff" : c, c);
      // Labels right of the point, or left of it in the right third (they would be cut off).
      const bool left = x > kLeft + (kWidth - kLeft - f.right) * 0.66;
      if (chart.label_points)
        out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\">{}</text>\n", left ? x - 6 : x + 6,
                           y - 6, left ? "end" : "start", xml_escape(ser.name));
    }
    if (chart.lines && !points.empty())
      out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", points, c);
  }
  // Legend, right of the plot, one row per series.
  if (!chart.label_points) {
    for (size_t s = 0; s < series.size(); ++s) {
      const double y = kTop + 14 * static_cast<double>(s);
      out += fmt::format(
          "<rect x=\"{0}\" y=\"{1:.1f}\" width=\"10\" height=\"10\" fill=\"{2}\"/>"
          "<text x=\"{3}\" y=\"{4:.1f}\">{5}</text>\n",
          kWidth - kLegendRight + 12, y, colour_of(series[s], s), kWidth - kLegendRight + 26, y + 9,
          xml_escape(series[s].name));
    }
  }
  out += "</svg>\n";
  return out;
}

std::string svg_bar_chart(const std::string& title, const std::string& y_label,
                          const std::vector<std::pair<std::string, double>>& bars) {
  std::string out = header(title);
  double hi = 0, lo = 0;
  for (const auto& [label, v] : bars) {
    if (!std::isfinite(v)) continue;
    hi = std::max(hi, v), lo = std::min(lo, v);
  }
  if (hi - lo < 1e-12) hi = lo + 1;
  const Frame f{0, 1, lo, hi * 1.08, false};
  out += axes(f, {}, nice_ticks(lo, hi, 5), "", y_label);
  const double slot = (kWidth - kLeft - kRight) / std::max<double>(1, static_cast<double>(bars.size()));
  for (size_t b = 0; b < bars.size(); ++b) {
    const double v = std::isfinite(bars[b].second) ? bars[b].second : 0.0;
    const double x = kLeft + slot * static_cast<double>(b) + slot * 0.15, w = slot * 0.7;
    const double top = f.py(std::max(v, 0.0)), base = f.py(std::min(v, 0.0));
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>{}: {}</title></rect>\n",
        x, top, w, std::max(0.5, base - top), colour(b), xml_escape(bars[b].first), number_label(v));
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x + w / 2, top - 4,
                       number_label(v));
    std::string label = bars[b].first;
    const size_t fit = std::max<size_t>(4, static_cast<size_t>(slot / 6.5));
    if (label.size() > fit) {
      size_t cut = fit - 1;  // not inside a UTF-8 sequence
      while (cut > 0 && (static_cast<unsigned char>(label[cut]) & 0xC0) == 0x80) --cut;
      label = label.substr(0, cut) + "~";
    }
    out += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x + w / 2,
                       kHeight - kBottom + 16, xml_escape(label));
  }
  out += "</svg>\n";
  return out;
}

}  // namespace nudge::report
