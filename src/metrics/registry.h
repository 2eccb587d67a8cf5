#pragma once
// A set of metric families, rendered for a scrape in Prometheus's text exposition format 0.0.4. Values arrive two
// ways:
//   - series registered once (counter(), gauge(), histogram()) and updated where things happen, lock-free
//     (metrics/metric.h);
//   - collectors, called at each scrape, that report what the server already knows elsewhere (the memory budget's
//     use, the open databases, the process's resources), so nothing is counted twice and nothing costs between
//     scrapes.
// Families render in the order they were first registered or reported, each with its HELP and TYPE once; the
// samples of a family that both a series and a collector report are rendered together.
//
// Thread-safe: registration, collectors and render() take one mutex (none of them is on a hot path). Collectors
// run under it and must not call back into the registry.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metric.h"

namespace backside::metrics {

struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
};
using Labels = std::vector<Label>;

enum class Type { counter, gauge, histogram };

// What a collector reports at one scrape.
class Samples {
 public:
  void counter(std::string_view name, std::string_view help, Labels labels, double value) {
    samples_.push_back({std::string(name), std::string(help), Type::counter, std::move(labels), value});
  }
  void gauge(std::string_view name, std::string_view help, Labels labels, double value) {
    samples_.push_back({std::string(name), std::string(help), Type::gauge, std::move(labels), value});
  }

 private:
  friend class Registry;
  struct Sample {
    std::string name;
    std::string help;
    Type type;
    Labels labels;
    double value;
  };
  std::vector<Sample> samples_;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The series of family `name` with `labels`, created on first use and the same object on every later call (it
  // lives as long as the registry). A name has one type (a counter's ends in _total); asking for it as another type,
  // or with a bad name, is a programming error: std::logic_error.
  Counter& counter(const std::string& name, const std::string& help, Labels labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, Labels labels = {});
  // `upper_bounds`: finite and ascending; every series of one family has the same.
  Histogram& histogram(const std::string& name, const std::string& help, std::vector<double> upper_bounds,
                       Labels labels = {});

  using Collector = std::function<void(Samples&)>;
  // Keeps a collector registered while it lives: destroy it before what the collector reads.
  class Collection {
   public:
    Collection() = default;
    Collection(Registry* registry, std::uint64_t id) : registry_(registry), id_(id) {}
    Collection(Collection&& other) noexcept;
    Collection& operator=(Collection&& other) noexcept;
    Collection(const Collection&) = delete;
    Collection& operator=(const Collection&) = delete;
    ~Collection() { reset(); }
    void reset();

   private:
    Registry* registry_ = nullptr;
    std::uint64_t id_ = 0;
  };
  [[nodiscard]] Collection add_collector(Collector collector);

  // Every family, in text format 0.0.4.
  std::string render() const;

 private:
  struct Series;
  struct Family;
  Family& family(const std::string& name, const std::string& help, Type type);
  Series& series(Family& family, Labels labels);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;  // in registration order
  std::map<std::uint64_t, Collector> collectors_;  // by id, in registration order
  std::uint64_t next_collector_id_ = 1;
};

}  // namespace backside::metrics
