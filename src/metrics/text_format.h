#pragma once
// The pieces of Prometheus's text exposition format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats):
// how a sample value, a label value and a HELP text are written. The registry (metrics/registry.h) assembles them
// into families.
#include <cstdint>
#include <string>
#include <string_view>

namespace backside::metrics {

// The Content-Type of a scrape's answer.
inline constexpr std::string_view kTextFormatContentType = "text/plain; version=0.0.4; charset=utf-8";

// A sample value: integers (below 2^53) as integers, other numbers in their shortest exact form, and the special
// values as Prometheus spells them: +Inf, -Inf, NaN.
void append_value(std::string& out, double value);
void append_value(std::string& out, std::uint64_t value);
// A label value inside its double quotes: backslash, double quote and line feed escaped.
void append_label_value(std::string& out, std::string_view value);
// A HELP text: backslash and line feed escaped.
void append_help(std::string& out, std::string_view help);
// Whether `name` is a valid metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]*; label names without ':').
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

}  // namespace backside::metrics
