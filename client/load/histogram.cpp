#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace circle::load {

std::size_t LatencyHistogram::index_of(std::uint64_t value) {
  // Values below kSubBuckets get magnitude 0 with exact buckets; above, the
  // magnitude is how many bits lie beyond the sub-bucket bits.
  const int bits = 64 - std::countl_zero(value | 1);
  const int magnitude = std::max(0, bits - kSubBucketBits);
  const std::uint64_t sub = magnitude == 0 ? value : (value >> magnitude);
  const std::size_t index = static_cast<std::size_t>(magnitude) * kSubBuckets +
                            static_cast<std::size_t>(sub % kSubBuckets);
  return std::min(index, static_cast<std::size_t>(kMagnitudes * kSubBuckets - 1));
}

std::uint64_t LatencyHistogram::upper_edge(std::size_t index) {
  const std::size_t magnitude = index / kSubBuckets;
  const std::uint64_t sub = index % kSubBuckets;
  if (magnitude == 0) return sub;
  // In magnitude m, sub-bucket s holds the values whose top bits are s:
  // [s << m, (s + 1) << m).
  return ((sub + 1) << magnitude) - 1;
}

void LatencyHistogram::record(std::uint64_t nanoseconds) {
  ++buckets_[index_of(nanoseconds)];
  ++count_;
  max_ = std::max(max_, nanoseconds);
  min_ = std::min(min_, nanoseconds);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

std::uint64_t LatencyHistogram::percentile(double percentile) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(
      std::ceil(std::clamp(percentile, 0.0, 100.0) / 100.0 * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) return std::min(upper_edge(i), max_);
  }
  return max_;
}

}  // namespace circle::load
