// live_load_measure.h — what kg_live_load reports beside its ops: latency percentiles, and
// the machine's Ed25519 verification rate (the bound batched ingest is judged against).
#pragma once

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "kittengrad/entry.h"

namespace kittengrad::live_load {

struct Percentiles {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

// Nearest-rank percentiles of latencies in µs (the core's Time), in ms.
inline Percentiles percentiles(std::vector<std::int64_t> us) {
  Percentiles p;
  if (us.empty()) return p;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(us.size()) + 0.999999);
    return static_cast<double>(us[std::clamp<std::size_t>(rank, 1, us.size()) - 1]) / 1000.0;
  };
  p.p50_ms = at(0.50);
  p.p90_ms = at(0.90);
  p.p99_ms = at(0.99);
  p.max_ms = static_cast<double>(us.back()) / 1000.0;
  return p;
}

// Ed25519 verifications per second on this thread (one core): crypto_sign_verify_detached
// over the signing bytes of pre-signed entries, round robin, for about `seconds`. The
// signing bytes are built before the clock starts, so this is the signature check alone;
// a peer also builds them (entry_signing_bytes) for each entry it verifies.
inline double verifications_per_s(const std::vector<Entry>& signed_entries, double seconds) {
  if (signed_entries.empty()) return 0;
  const std::size_t n = std::min<std::size_t>(signed_entries.size(), 4096);
  std::vector<std::vector<std::uint8_t>> bytes;
  bytes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) bytes.push_back(entry_signing_bytes(signed_entries[i]));
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::uint64_t done = 0, good = 0;
  auto now = start;
  while (now < end) {
    for (int k = 0; k < 64; ++k, ++done) {  // read the clock every 64 verifications
      const std::size_t i = done % n;
      const Entry& e = signed_entries[i];
      good += crypto_sign_verify_detached(e.signature.data(), bytes[i].data(), bytes[i].size(),
                                          e.author.data()) == 0;
    }
    now = Clock::now();
  }
  if (good != done) return 0;  // a bad signature: the measurement means nothing
  return static_cast<double>(done) / std::chrono::duration<double>(now - start).count();
}

}  // namespace kittengrad::live_load
