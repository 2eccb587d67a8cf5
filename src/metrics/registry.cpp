#include "metrics/registry.h"

#include <cmath>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "metrics/text_format.h"

namespace backside::metrics {

struct Registry::Series {
  Labels labels;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
};

struct Registry::Family {
  std::string name;
  std::string help;
  Type type;
  std::vector<std::unique_ptr<Series>> series;
};

namespace {

const char* type_name(Type type) {
  switch (type) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
  }
  return "untyped";
}

bool valid_labels(const Labels& labels) {
  for (const Label& label : labels) {
    if (!valid_label_name(label.name) || label.name == "le") return false;
  }
  return true;
}

// `name{a="x",b="y"} ` (braces only when there are labels), then the value is appended by the caller. `extra`
// is one more label after the series' own (a histogram bucket's `le`).
void append_series_head(std::string& out, std::string_view name, const Labels& labels,
                        const Label* extra = nullptr) {
  out += name;
  if (!labels.empty() || extra) {
    out += '{';
    bool first = true;
    auto add = [&](const Label& label) {
      if (!first) out += ',';
      first = false;
      out += label.name;
      out += "=\"";
      append_label_value(out, label.value);
      out += '"';
    };
    for (const Label& label : labels) add(label);
    if (extra) add(*extra);
    out += '}';
  }
  out += ' ';
}

void append_histogram(std::string& out, const std::string& name, const Labels& labels, const Histogram& histogram) {
  std::uint64_t cumulative = 0;
  const std::string bucket_name = name + "_bucket";
  const auto& bounds = histogram.upper_bounds();
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += histogram.bucket(i);
    Label le{"le", ""};
    if (i < bounds.size()) {
      append_value(le.value, bounds[i]);
    } else {
      le.value = "+Inf";
    }
    append_series_head(out, bucket_name, labels, &le);
    append_value(out, cumulative);
    out += '\n';
  }
  append_series_head(out, name + "_sum", labels);
  append_value(out, histogram.sum());
  out += '\n';
  append_series_head(out, name + "_count", labels);
  append_value(out, cumulative);
  out += '\n';
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::family(const std::string& name, const std::string& help, Type type) {
  for (auto& family : families_) {
    if (family->name != name) continue;
    if (family->type != type) {
      throw std::logic_error("metric " + name + " is a " + type_name(family->type) + ", not a " + type_name(type));
    }
    return *family;
  }
  if (!valid_metric_name(name)) throw std::logic_error("invalid metric name \"" + name + "\"");
  if (type == Type::counter && !name.ends_with("_total")) {
    throw std::logic_error("counter " + name + " must end in _total");
  }
  families_.push_back(std::make_unique<Family>(Family{name, help, type, {}}));
  return *families_.back();
}

Registry::Series& Registry::series(Family& family, Labels labels) {
  for (auto& series : family.series) {
    if (series->labels == labels) return *series;
  }
  if (!valid_labels(labels)) throw std::logic_error("invalid label name in a series of " + family.name);
  family.series.push_back(std::make_unique<Series>());
  family.series.back()->labels = std::move(labels);
  return *family.series.back();
}

Counter& Registry::counter(const std::string& name, const std::string& help, Labels labels) {
  std::lock_guard lock(mutex_);
  Series& found = series(family(name, help, Type::counter), std::move(labels));
  if (!found.counter) found.counter = std::make_unique<Counter>();
  return *found.counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, Labels labels) {
  std::lock_guard lock(mutex_);
  Series& found = series(family(name, help, Type::gauge), std::move(labels));
  if (!found.gauge) found.gauge = std::make_unique<Gauge>();
  return *found.gauge;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, std::vector<double> upper_bounds,
                               Labels labels) {
  for (std::size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i]) || (i > 0 && upper_bounds[i] <= upper_bounds[i - 1])) {
      throw std::logic_error("histogram " + name + ": bucket bounds must be finite and ascending");
    }
  }
  std::lock_guard lock(mutex_);
  Family& histogram_family = family(name, help, Type::histogram);
  if (!histogram_family.series.empty() &&
      histogram_family.series.front()->histogram->upper_bounds() != upper_bounds) {
    throw std::logic_error("histogram " + name + ": every series must have the same buckets");
  }
  Series& found = series(histogram_family, std::move(labels));
  if (!found.histogram) found.histogram = std::make_unique<Histogram>(std::move(upper_bounds));
  return *found.histogram;
}

Registry::Collection::Collection(Collection&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), id_(other.id_) {}

Registry::Collection& Registry::Collection::operator=(Collection&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void Registry::Collection::reset() {
  if (!registry_) return;
  std::lock_guard lock(registry_->mutex_);
  registry_->collectors_.erase(id_);
  registry_ = nullptr;
}

Registry::Collection Registry::add_collector(Collector collector) {
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_collector_id_++;
  collectors_.emplace(id, std::move(collector));
  return Collection(this, id);
}

std::string Registry::render() const {
  struct Rendered {
    std::string help;
    Type type;
    std::string samples;
  };
  std::vector<std::pair<std::string, Rendered>> rendered;  // in order of first appearance
  std::unordered_map<std::string, std::size_t> index;
  auto entry = [&](const std::string& name, const std::string& help, Type type) -> Rendered* {
    auto [it, added] = index.emplace(name, rendered.size());
    if (added) {
      rendered.emplace_back(name, Rendered{help, type, {}});
    } else if (rendered[it->second].second.type != type) {
      return nullptr;  // a collector reporting a known name as another type: its sample is left out
    }
    return &rendered[it->second].second;
  };

  std::lock_guard lock(mutex_);
  for (const auto& family : families_) {
    Rendered* out = entry(family->name, family->help, family->type);
    for (const auto& series : family->series) {
      if (series->histogram) {
        append_histogram(out->samples, family->name, series->labels, *series->histogram);
        continue;
      }
      append_series_head(out->samples, family->name, series->labels);
      if (series->counter) {
        append_value(out->samples, series->counter->value());
      } else {
        append_value(out->samples, static_cast<double>(series->gauge->value()));
      }
      out->samples += '\n';
    }
  }
  for (const auto& [id, collector] : collectors_) {
    Samples samples;
    collector(samples);
    for (const auto& sample : samples.samples_) {
      if (!valid_metric_name(sample.name) || !valid_labels(sample.labels)) continue;
      Rendered* out = entry(sample.name, sample.help, sample.type);
      if (!out) continue;
      append_series_head(out->samples, sample.name, sample.labels);
      append_value(out->samples, sample.value);
      out->samples += '\n';
    }
  }

  std::string text;
  for (const auto& [name, family] : rendered) {
    text += "# HELP ";
    text += name;
    text += ' ';
    append_help(text, family.help);
    text += "\n# TYPE ";
    text += name;
    text += ' ';
    text += type_name(family.type);
    text += '\n';
    text += family.samples;
  }
  return text;
}

}  // namespace backside::metrics
