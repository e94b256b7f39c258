// A log-bucketed latency histogram in the style of HdrHistogram: values up to
// 2^40 ns, each power-of-two range split into 32 linear sub-buckets, so any
// reported percentile is within ~3% of the true value. Fixed memory, O(1)
// record, mergeable. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>

namespace circle::load {

class LatencyHistogram {
 public:
  void record(std::uint64_t nanoseconds);
  void merge(const LatencyHistogram& other);
  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  // The value at `percentile` (0..100): the upper edge of its bucket, capped at max().
  std::uint64_t percentile(double percentile) const;

 private:
  // Values with more than 6 significant bits keep their top 6: 32 distinct
  // sub-buckets per power of two.
  static constexpr int kSubBucketBits = 6;
  static constexpr int kSubBuckets = 1 << kSubBucketBits;
  static constexpr int kMagnitudes = 42;
  static std::size_t index_of(std::uint64_t value);
  static std::uint64_t upper_edge(std::size_t index);

  std::array<std::uint64_t, kMagnitudes * kSubBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = UINT64_MAX;
};

}  // namespace circle::load
