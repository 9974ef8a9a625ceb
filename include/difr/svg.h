// A small SVG chart writer for difr's HTML report: bar charts and line charts with axes, ticks, labels and a
// legend. Output is a standalone <svg> element (well-formed XML, no scripts, no external resources).
#pragma once

#include <array>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace difr {

struct ChartOptions {
    std::string title, x_label, y_label;
    int width = 720, height = 360;
    bool log_x = false;                                 // line charts: logarithmic x axis (all x must be > 0)
    double y_min = std::nan(""), y_max = std::nan("");  // NaN: from the data (bar charts always start at 0)
    double rule_y = std::nan("");  // bar charts: a dashed horizontal line at this value (e.g. a threshold)
    int value_digits = 3;          // bar charts: significant digits of the value written above each bar
    bool legend = true;            // line charts: false leaves the legend out (small multiples share one)
};

struct SvgBar {
    std::string label;
    double value = 0.0;
    std::string color = "#4c72b0";
};

struct SvgSeries {
    std::string name;
    std::vector<std::pair<double, double>> points;  // (x, y), drawn in order; NaN y breaks the line
    std::string color = "#4c72b0";
    bool dashed = false;
};

// A shaded band between two curves (e.g. the range honest variation spans), drawn under the series.
struct SvgBand {
    std::string name;
    std::vector<std::array<double, 3>> points;  // (x, lo, hi), in x order
    std::string color = "#cccccc";
};

struct SvgLegendEntry {
    std::string name, color;
    bool dashed = false;
};

// Bars start at 0; each bar is <rect class="bar" data-value="..."> so tests and readers can find them.
// Values must be finite and >= 0. Extra legend entries (e.g. what each color means) are drawn top right.
// A finite opts.rule_y draws <line class="rule" data-value="..."> across the plot; the axis reaches it.
std::string svg_bar_chart(const std::vector<SvgBar> &bars, const ChartOptions &opts,
                          const std::vector<SvgLegendEntry> &legend = {});
// One <polyline class="series"> per series (split at NaN), markers at each point, legend of series names;
// each band a <polygon class="band"> under them (points with a NaN bound are left out).
std::string svg_line_chart(const std::vector<SvgSeries> &series, const ChartOptions &opts,
                           const std::vector<SvgBand> &bands = {});
// A legend on its own (<svg> of the given width): for a row of small charts drawn without one.
std::string svg_legend(const std::vector<SvgLegendEntry> &entries, int width,
                       const std::vector<SvgBand> &bands = {});

// The start of one of difr's self-contained HTML reports, up to and including <h1>heading</h1>: the page
// title "difr <heading>" and the shared style sheet plus `extra_css` (rules, one per line). Escapes heading.
std::string html_page_begin(std::string_view heading, std::string_view extra_css = "");

// Escapes &, <, >, " and ' for XML text and attributes.
std::string xml_escape(std::string_view s);

// "Nice" tick positions covering [lo, hi] (1, 2 or 5 times a power of ten apart), at most ~max_ticks of them.
std::vector<double> axis_ticks_linear(double lo, double hi, int max_ticks = 6);

}  // namespace difr
