#pragma once
// The three kinds of Prometheus metric the server keeps, each one series (one set of label values): a Counter that
// only goes up, a Gauge that goes up and down, and a Histogram of observations in fixed buckets. They are counted
// where things happen (a write answered, a connection opened) on hot paths, so each update is one relaxed atomic
// operation: no lock, no allocation, no ordering with anything else (a scrape may see one counter a moment ahead of
// another, which Prometheus tolerates). Reading is for the scrape (metrics/registry.h).
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace backside::metrics {

class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void add(std::int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::int64_t n = 1) { value_.fetch_sub(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { value_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// One unit of a gauge held by something that exists for a while (an open connection): added when taken, given back
// when released or destroyed, exactly once, so that no path out of the holder's life can leave the gauge counting it.
// Move-only.
class GaugeIncrement {
 public:
  GaugeIncrement() = default;
  explicit GaugeIncrement(Gauge& gauge) : gauge_(&gauge) { gauge_->add(); }
  GaugeIncrement(GaugeIncrement&& other) noexcept : gauge_(std::exchange(other.gauge_, nullptr)) {}
  GaugeIncrement& operator=(GaugeIncrement&& other) noexcept {
    if (this != &other) {
      release();
      gauge_ = std::exchange(other.gauge_, nullptr);
    }
    return *this;
  }
  GaugeIncrement(const GaugeIncrement&) = delete;
  GaugeIncrement& operator=(const GaugeIncrement&) = delete;
  ~GaugeIncrement() { release(); }

  void release() {
    if (gauge_) std::exchange(gauge_, nullptr)->sub();
  }
  bool held() const { return gauge_ != nullptr; }

 private:
  Gauge* gauge_ = nullptr;
};

// Observations counted in buckets by upper bound (Prometheus's `le`, "less than or equal"), plus their count and
// sum. The buckets are stored apart (not cumulative), so an observation touches one bucket; the scrape adds them up,
// and takes the count as the sum of the buckets, so that the +Inf bucket and _count always agree.
class Histogram {
 public:
  // `upper_bounds`: finite, ascending; the +Inf bucket is implicit.
  explicit Histogram(std::vector<double> upper_bounds)
      : upper_bounds_(std::move(upper_bounds)),
        buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_.size() + 1)) {}

  void observe(double value) {
    const std::size_t bucket = static_cast<std::size_t>(
        std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Observations in bucket `i` alone (i == upper_bounds().size(): above the last bound).
  std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

}  // namespace backside::metrics
