#include "difr/svg.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace difr {

namespace {

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

std::string tick_label(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", std::fabs(v) < 1e-12 ? 0.0 : v);
    return buf;
}

std::string fmt_value(double v, int digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

// The plot area inside the chart: room on the left for y tick labels, below for x labels, right for a legend.
struct Frame {
    double left, top, right, bottom;
    double width() const { return right - left; }
    double height() const { return bottom - top; }
};

std::string svg_open(const ChartOptions &o) {
    std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(o.width) +
                    "\" height=\"" + std::to_string(o.height) + "\" viewBox=\"0 0 " +
                    std::to_string(o.width) + " " + std::to_string(o.height) +
                    "\" font-family=\"sans-serif\" font-size=\"11\">\n"
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    if (!o.title.empty())
        s += "<text class=\"title\" x=\"" + num(o.width / 2.0) +
             "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">" +
             xml_escape(o.title) + "</text>\n";
    return s;
}

// Y axis with grid lines and labels; maps data y to pixels through (lo, hi).
std::string y_axis(const Frame &f, const std::vector<double> &ticks, double lo, double hi,
                   const ChartOptions &o) {
    std::string s;
    for (double t : ticks) {
        const double y = f.bottom - (t - lo) / (hi - lo) * f.height();
        s += "<line class=\"grid\" x1=\"" + num(f.left) + "\" x2=\"" + num(f.right) + "\" y1=\"" + num(y) +
             "\" y2=\"" + num(y) + "\" stroke=\"#ddd\"/>\n";
        s += "<text class=\"ytick\" x=\"" + num(f.left - 6) + "\" y=\"" + num(y + 4) +
             "\" text-anchor=\"end\">" + tick_label(t) + "</text>\n";
    }
    s += "<line class=\"axis\" x1=\"" + num(f.left) + "\" x2=\"" + num(f.left) + "\" y1=\"" + num(f.top) +
         "\" y2=\"" + num(f.bottom) + "\" stroke=\"black\"/>\n";
    s += "<line class=\"axis\" x1=\"" + num(f.left) + "\" x2=\"" + num(f.right) + "\" y1=\"" + num(f.bottom) +
         "\" y2=\"" + num(f.bottom) + "\" stroke=\"black\"/>\n";
    if (!o.y_label.empty()) {
        const double cy = (f.top + f.bottom) / 2;
        s += "<text class=\"ylabel\" x=\"14\" y=\"" + num(cy) +
             "\" text-anchor=\"middle\" transform=\"rotate(-90 14 " + num(cy) + ")\">" +
             xml_escape(o.y_label) + "</text>\n";
    }
    return s;
}

std::string legend_block(const std::vector<SvgLegendEntry> &entries, double x, double y) {
    std::string s;
    for (size_t i = 0; i < entries.size(); ++i) {
        const double yy = y + 16.0 * double(i);
        s += "<line class=\"legend-key\" x1=\"" + num(x) + "\" x2=\"" + num(x + 22) + "\" y1=\"" + num(yy) +
             "\" y2=\"" + num(yy) + "\" stroke=\"" + xml_escape(entries[i].color) + "\" stroke-width=\"3\"" +
             (entries[i].dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>\n";
        s += "<text class=\"legend\" x=\"" + num(x + 28) + "\" y=\"" + num(yy + 4) + "\">" +
             xml_escape(entries[i].name) + "</text>\n";
    }
    return s;
}

}  // namespace

std::string xml_escape(std::string_view in) {
    std::string s;
    s.reserve(in.size());
    for (char c : in) {
        switch (c) {
            case '&':
                s += "&amp;";
                break;
            case '<':
                s += "&lt;";
                break;
            case '>':
                s += "&gt;";
                break;
            case '"':
                s += "&quot;";
                break;
            case '\'':
                s += "&apos;";
                break;
            default:
                s += c;
        }
    }
    return s;
}

std::vector<double> axis_ticks_linear(double lo, double hi, int max_ticks) {
    if (!(hi > lo)) hi = lo + 1.0;
    const double raw = (hi - lo) / std::max(1, max_ticks - 1);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw) {
            step = m * mag;
            break;
        }
    std::vector<double> ticks;
    // Multiples of step (not a running sum, so rounding does not accumulate), from the last at or below lo
    // to the first at or above hi, so the axis covers the data.
    const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
    for (double i = first; i <= last; i += 1) ticks.push_back(i * step);
    return ticks;
}

std::string svg_bar_chart(const std::vector<SvgBar> &bars, const ChartOptions &o,
                          const std::vector<SvgLegendEntry> &legend) {
    double top = 0.0;
    for (const SvgBar &b : bars) {
        if (!std::isfinite(b.value) || b.value < 0)
            throw std::invalid_argument("bar values must be finite and >= 0");
        top = std::max(top, b.value);
    }
    if (!std::isnan(o.y_max)) top = o.y_max;
    const bool rule = std::isfinite(o.rule_y);
    if (rule && o.rule_y < 0) throw std::invalid_argument("a bar chart's rule must be >= 0");
    if (rule) top = std::max(top, o.rule_y);
    const std::vector<double> ticks = axis_ticks_linear(0.0, top > 0 ? top : 1.0);
    const double hi = ticks.back();
    const Frame f{60.0, 34.0, double(o.width) - (legend.empty() ? 20.0 : 150.0), double(o.height) - 110.0};
    std::string s = svg_open(o) + y_axis(f, ticks, 0.0, hi, o);
    const double slot = bars.empty() ? 0.0 : f.width() / double(bars.size());
    for (size_t i = 0; i < bars.size(); ++i) {
        const double h = bars[i].value / hi * f.height(), x = f.left + slot * (double(i) + 0.15);
        s += "<rect class=\"bar\" data-value=\"" + tick_label(bars[i].value) + "\" x=\"" + num(x) +
             "\" y=\"" + num(f.bottom - h) + "\" width=\"" + num(slot * 0.7) + "\" height=\"" + num(h) +
             "\" fill=\"" + xml_escape(bars[i].color) + "\"><title>" + xml_escape(bars[i].label) + ": " +
             tick_label(bars[i].value) + "</title></rect>\n";
        const double cx = f.left + slot * (double(i) + 0.5), ly = f.bottom + 12;
        s += "<text class=\"value\" x=\"" + num(cx) + "\" y=\"" + num(f.bottom - h - 4) +
             "\" text-anchor=\"middle\">" + fmt_value(bars[i].value, o.value_digits) + "</text>\n";
        s += "<text class=\"xtick\" x=\"" + num(cx) + "\" y=\"" + num(ly) +
             "\" text-anchor=\"end\" transform=\"rotate(-40 " + num(cx) + " " + num(ly) + ")\">" +
             xml_escape(bars[i].label) + "</text>\n";
    }
    if (rule) {  // over the bars, so it shows across a taller bar; the caller's legend names it
        const double y = f.bottom - o.rule_y / hi * f.height();
        s += "<line class=\"rule\" data-value=\"" + tick_label(o.rule_y) + "\" x1=\"" + num(f.left) +
             "\" x2=\"" + num(f.right) + "\" y1=\"" + num(y) + "\" y2=\"" + num(y) +
             "\" stroke=\"#333\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n";
    }
    if (!o.x_label.empty())
        s += "<text class=\"xlabel\" x=\"" + num((f.left + f.right) / 2) + "\" y=\"" +
             num(double(o.height) - 6) + "\" text-anchor=\"middle\">" + xml_escape(o.x_label) + "</text>\n";
    s += legend_block(legend, f.right + 16, f.top + 8);
    return s + "</svg>\n";
}

std::string svg_line_chart(const std::vector<SvgSeries> &series, const ChartOptions &o,
                           const std::vector<SvgBand> &bands) {
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    auto extend = [&](double x, double y) {
        if (o.log_x && !(x > 0)) throw std::invalid_argument("log x axis needs x > 0");
        xlo = std::min(xlo, x), xhi = std::max(xhi, x);
        if (!std::isnan(y)) ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    };
    for (const SvgSeries &se : series)
        for (auto [x, y] : se.points) extend(x, y);
    for (const SvgBand &b : bands)
        for (const auto &p : b.points) extend(p[0], p[1]), extend(p[0], p[2]);
    if (!std::isfinite(xlo)) xlo = 1, xhi = 10;
    if (!std::isfinite(ylo)) ylo = 0, yhi = 1;
    if (!std::isnan(o.y_min)) ylo = o.y_min;
    if (!std::isnan(o.y_max)) yhi = o.y_max;
    const std::vector<double> yt = axis_ticks_linear(ylo, yhi);
    ylo = std::min(ylo, yt.front()), yhi = std::max(yhi, yt.back());
    std::vector<double> xt;
    if (o.log_x) {
        const bool thirds =
            std::log10(xhi / xlo) <= 4.0;  // few decades: also 3 x 10^k, as in the bucket ladder
        for (double p = std::pow(10.0, std::floor(std::log10(xlo))); p <= xhi * 1.0001; p *= 10)
            for (double m : {1.0, 3.0})
                if ((m == 1.0 || thirds) && m * p >= xlo * 0.9999 && m * p <= xhi * 1.0001)
                    xt.push_back(m * p);
        if (xhi / xlo < 1.0001) xhi = xlo * 10;
    } else {
        xt = axis_ticks_linear(xlo, xhi);
        xlo = std::min(xlo, xt.front()), xhi = std::max(xhi, xt.back());
    }
    const Frame f{60.0, 34.0, double(o.width) - (o.legend ? 190.0 : 14.0), double(o.height) - 46.0};
    auto px = [&](double x) {
        const double u = o.log_x ? std::log(x / xlo) / std::log(xhi / xlo) : (x - xlo) / (xhi - xlo);
        return f.left + u * f.width();
    };
    auto py = [&](double y) { return f.bottom - (y - ylo) / (yhi - ylo) * f.height(); };
    std::string s = svg_open(o) + y_axis(f, yt, ylo, yhi, o);
    for (const SvgBand &b : bands) {
        std::vector<std::string> upper, lower;  // the polygon: upper edge left to right, lower edge back
        for (const auto &p : b.points) {
            if (std::isnan(p[1]) || std::isnan(p[2])) continue;
            // Clamped to the axis range: a band may reach past a fixed y_min/y_max.
            auto clamp = [&](double y) { return std::min(std::max(y, ylo), yhi); };
            upper.push_back(num(px(p[0])) + "," + num(py(clamp(p[2]))));
            lower.push_back(num(px(p[0])) + "," + num(py(clamp(p[1]))));
        }
        if (upper.empty()) continue;
        std::string points;
        for (const std::string &pt : upper) points += pt + " ";
        for (auto it = lower.rbegin(); it != lower.rend(); ++it) points += *it + " ";
        points.pop_back();
        s += "<polygon class=\"band\" points=\"" + points + "\" fill=\"" + xml_escape(b.color) +
             "\" fill-opacity=\"0.5\" stroke=\"none\"/>\n";
    }
    for (double t : xt)
        s += "<text class=\"xtick\" x=\"" + num(px(t)) + "\" y=\"" + num(f.bottom + 14) +
             "\" text-anchor=\"middle\">" + tick_label(t) + "</text>\n";
    if (!o.x_label.empty())
        s += "<text class=\"xlabel\" x=\"" + num((f.left + f.right) / 2) + "\" y=\"" +
             num(double(o.height) - 8) + "\" text-anchor=\"middle\">" + xml_escape(o.x_label) + "</text>\n";
    std::vector<SvgLegendEntry> legend;
    for (const SvgSeries &se : series) {
        const std::string stroke = "stroke=\"" + xml_escape(se.color) +
                                   "\" stroke-width=\"2\" fill=\"none\"" +
                                   (se.dashed ? " stroke-dasharray=\"5 3\"" : "");
        std::string pts;
        auto flush = [&] {
            if (!pts.empty()) s += "<polyline class=\"series\" points=\"" + pts + "\" " + stroke + "/>\n";
            pts.clear();
        };
        for (auto [x, y] : se.points) {
            if (std::isnan(y)) {
                flush();
                continue;
            }
            if (!pts.empty()) pts += ' ';
            pts += num(px(x)) + "," + num(py(y));
            s += "<circle class=\"point\" cx=\"" + num(px(x)) + "\" cy=\"" + num(py(y)) +
                 "\" r=\"2.5\" fill=\"" + xml_escape(se.color) + "\"/>\n";
        }
        flush();
        legend.push_back({se.name, se.color, se.dashed});
    }
    if (o.legend) s += legend_block(legend, f.right + 14, f.top + 8);
    return s + "</svg>\n";
}

std::string svg_legend(const std::vector<SvgLegendEntry> &entries, int width,
                       const std::vector<SvgBand> &bands) {
    ChartOptions o;
    o.width = width;
    o.height = 12 + 16 * int(entries.size() + bands.size());
    std::string s = svg_open(o) + legend_block(entries, 8, 12);
    for (size_t i = 0; i < bands.size(); ++i) {
        const double y = 12 + 16.0 * double(entries.size() + i);
        s += "<rect class=\"legend-band\" x=\"8\" y=\"" + num(y - 5) +
             "\" width=\"22\" height=\"10\" fill=\"" + xml_escape(bands[i].color) +
             "\" fill-opacity=\"0.5\"/>\n";
        s += "<text class=\"legend\" x=\"36\" y=\"" + num(y + 4) + "\">" + xml_escape(bands[i].name) +
             "</text>\n";
    }
    return s + "</svg>\n";
}

std::string html_page_begin(std::string_view heading, std::string_view extra_css) {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>difr " +
           xml_escape(heading) +
           "</title>\n<style>\n"
           "body { font-family: sans-serif; margin: 24px; color: #222; }\n"
           "table { border-collapse: collapse; margin: 12px 0 28px; font-size: 13px; }\n"
           "caption { text-align: left; font-weight: bold; padding: 4px 0; }\n"
           "th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }\n"
           "th { background: #f3f3f3; }\n"
           "svg { display: block; margin: 8px 0 20px; }\n" +
           std::string(extra_css) + "</style>\n</head>\n<body>\n<h1>" + xml_escape(heading) + "</h1>\n";
}

}  // namespace difr
