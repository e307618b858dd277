// Rateless IBLT: the index stream of an item, the encoder, the peeling decoder and the
// difference estimator. See riblt.h for the scheme.
//
// Index stream. An item sits in cell 0 and in each later cell j independently with
// probability rho(j) = 1 / (1 + j/2) = 2 / (j + 2). Given a hit at i, the chance that none of
// i+1 .. j is hit telescopes:
//     prod_{k=i+1..j} (1 - 2/(k+2)) = prod k/(k+2) = (i+1)(i+2) / ((j+1)(j+2)),
// so the next index comes by inverse transform from one uniform u in (0, 1]: the smallest
// j > i with (j+1)(j+2) > T, T = (i+1)(i+2) / u, which is j = floor(sqrt(T + 1/4) - 3/2) + 1.
// One draw per index, no rejection: an item touches about 2 ln(m) of the first m cells.
//
// Purity. A cell holds exactly one item iff |count| == 1 and checksum equals the check
// derived from keysum (EntryId::of_key); any mixture passes with probability 2^-64. The
// decoder also requires the peeled item's own stream to visit the cell it came from, and
// gives up after m peels: a correct peel empties a cell for good, so a decodable
// difference never needs more, and a run of false peels cannot loop.
//
// Estimator. With d items in the difference, cell j (j >= 1) of remote - local is empty
// with probability (1 - rho(j))^d; cell 0 holds every item. The log-likelihood of d given
// which cells are empty is concave, so its maximum is the root of its slope, found by
// doubling and then bisection in log space. When no cell past 0 is empty the likelihood
// grows without bound, and the answer is the d at which one empty cell would have been
// expected, but never less than m / 1.4 (decoding m symbols failed, so d is likely larger).
#include "kittengrad/riblt.h"

#include "wire_util.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <iterator>

#include "kittengrad/rng.h"

namespace kittengrad {

namespace {

using detail::varint_size;

// Seeds the index stream apart from the check (which mixes the key with another salt).
constexpr std::uint64_t kIndexSalt = 0x6b67696e64657831ULL;  // "kgindex1"
// Past this index the stream stops: doubles hold it exactly, and no peer sends 2^52 symbols.
constexpr double kIndexMax = 4503599627370496.0;  // 2^52
constexpr std::uint64_t kNoIndex = UINT64_MAX;

// Bounds of the estimator's search, and its precision: the estimate sizes a request for
// more symbols, so a few percent is plenty.
constexpr double kEstimateMax = 1099511627776.0;  // 2^40
constexpr int kEstimateBisections = 10;

bool is_empty(const CodedSymbol& s) { return s.count == 0 && s.keysum == 0 && s.checksum == 0; }

bool is_pure(const CodedSymbol& s) {
  return (s.count == 1 || s.count == -1) && s.checksum == EntryId::of_key(s.keysum).check;
}

// remote - local, cell by cell, over the symbols both lists have.
std::vector<CodedSymbol> subtract(const std::vector<CodedSymbol>& remote,
                                  const std::vector<CodedSymbol>& local) {
  const std::size_t m = std::min(remote.size(), local.size());
  std::vector<CodedSymbol> diff(m);
  for (std::size_t i = 0; i < m; ++i) {
    diff[i] = remote[i];
    diff[i].remove(local[i]);
  }
  return diff;
}

// Removes the item of pure cell `home` from every cell it maps to in [0, cells.size()),
// pushing cells that become pure. Returns false if the item's stream never visits `home`,
// which means the cell only looked pure.
bool peel(std::vector<CodedSymbol>& cells, std::size_t home, std::vector<std::size_t>& pure) {
  const EntryId id = EntryId::of_key(cells[home].keysum);
  const std::int64_t sign = cells[home].count;
  bool visits_home = false;
  for (RibltIndexStream s(id); s.current() < cells.size(); s.advance()) {
    const auto j = static_cast<std::size_t>(s.current());
    cells[j].add(id, -sign);
    visits_home = visits_home || j == home;
    if (is_pure(cells[j])) pure.push_back(j);
  }
  return visits_home;
}

// True iff a sorted list holds some id twice.
bool has_duplicate(const std::vector<EntryId>& sorted) {
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

// log(1 - rho(i)) = log(i / (i + 2)) for the cells i >= 1.
double log_miss(std::size_t i) { return std::log1p(-2.0 / (static_cast<double>(i) + 2.0)); }

// Cells whose miss probabilities are this close share one group in the estimator: the
// likelihood then costs one exp per group, about 200 for a thousand symbols, instead of one
// per cell, and moves by far less than the estimate's precision.
constexpr double kGroupSpread = 0.02;

// Busy cells of similar miss probability, standing for `cells` cells at their mean.
struct BusyGroup {
  double log_miss = 0;
  double cells = 0;
};

// What the estimator knows: the cells i >= 1, split by emptiness.
struct Evidence {
  double empty_log_miss_sum = 0;  // sum of log_miss over the empty cells
  std::vector<BusyGroup> busy;    // the non-empty cells, grouped
  std::size_t busy_cells = 0;
};

Evidence gather_evidence(const std::vector<CodedSymbol>& cells) {
  Evidence ev;
  double group_start = 0;  // log_miss of the first cell of the open group
  double group_sum = 0;
  double group_cells = 0;
  auto close_group = [&] {
    if (group_cells > 0) ev.busy.push_back(BusyGroup{group_sum / group_cells, group_cells});
    group_sum = 0;
    group_cells = 0;
  };
  for (std::size_t i = 1; i < cells.size(); ++i) {
    const double l = log_miss(i);
    if (is_empty(cells[i])) {
      ev.empty_log_miss_sum += l;
      continue;
    }
    // log_miss rises towards 0 with i: a group ends once it has moved by the spread.
    if (group_cells == 0 || l > group_start * (1 - kGroupSpread)) {
      close_group();
      group_start = l;
    }
    group_sum += l;
    group_cells += 1;
    ++ev.busy_cells;
  }
  close_group();
  return ev;
}

// d/dd of the log-likelihood of d items, given the evidence. It decreases in d (the
// likelihood is concave), so its root is the maximum.
double likelihood_slope(const Evidence& ev, double d) {
  double slope = ev.empty_log_miss_sum;
  // A busy cell has likelihood 1 - exp(d l); its log's slope is -l / expm1(-d l).
  for (const BusyGroup& g : ev.busy) slope += g.cells * -g.log_miss / std::expm1(-d * g.log_miss);
  return slope;
}

// Maximum-likelihood d >= 1: doubling to bracket the root of the slope, then bisection in
// log space. Requires at least one empty cell (otherwise the likelihood keeps growing).
double max_likelihood(const Evidence& ev) {
  if (likelihood_slope(ev, 1.0) <= 0) return 1.0;
  double hi = 2.0;
  while (hi < kEstimateMax && likelihood_slope(ev, hi) > 0) hi *= 2.0;
  double lo = hi / 2.0;
  for (int k = 0; k < kEstimateBisections; ++k) {
    const double mid = std::sqrt(lo * hi);
    (likelihood_slope(ev, mid) > 0 ? lo : hi) = mid;
  }
  return std::sqrt(lo * hi);
}

// With every cell busy, the d at which one cell would be expected empty: a lower bound
// in spirit ("at least this many, or something would have been empty").
double expected_one_empty(const Evidence& ev) {
  auto expected_empty = [&ev](double d) {
    double sum = 0;
    for (const BusyGroup& g : ev.busy) sum += g.cells * std::exp(d * g.log_miss);
    return sum;
  };
  if (expected_empty(1.0) <= 1.0) return 1.0;
  double hi = 2.0;
  while (hi < kEstimateMax && expected_empty(hi) > 1.0) hi *= 2.0;
  double lo = hi / 2.0;
  for (int k = 0; k < kEstimateBisections; ++k) {
    const double mid = std::sqrt(lo * hi);
    (expected_empty(mid) > 1.0 ? lo : hi) = mid;
  }
  return std::sqrt(lo * hi);
}

}  // namespace

RibltIndexStream::RibltIndexStream(const EntryId& id) : state_(id.key ^ kIndexSalt) {}

void RibltIndexStream::advance() {
  if (index_ == kNoIndex) return;
  // u in (0, 1] from the top 53 bits: exact in a double, and never 0.
  const std::uint64_t r = splitmix64(state_);
  const double u = static_cast<double>((r >> 11) + 1) * 0x1.0p-53;
  const double i = static_cast<double>(index_);
  const double t = (i + 1.0) * (i + 2.0) / u;
  const double x = std::sqrt(t + 0.25) - 1.5;
  if (!(x < kIndexMax)) {
    index_ = kNoIndex;
    return;
  }
  // Rounding can only matter when x is within an ulp of an integer; stay strictly ahead.
  index_ = std::max(index_ + 1, static_cast<std::uint64_t>(x) + 1);
}

RibltEncoder::RibltEncoder(std::uint64_t from, std::uint64_t to)
    : from_(from), to_(to), symbols_(to > from ? static_cast<std::size_t>(to - from) : 0) {}

void RibltEncoder::add(const EntryId& id, std::int64_t sign) {
  for (RibltIndexStream s(id); s.current() < to_; s.advance()) {
    if (s.current() >= from_) symbols_[static_cast<std::size_t>(s.current() - from_)].add(id, sign);
  }
}

std::vector<CodedSymbol> riblt_encode(const std::vector<EntryId>& ids, std::uint64_t from,
                                      std::uint64_t to) {
  RibltEncoder enc(from, to);
  for (const EntryId& id : ids) enc.add(id);
  return enc.symbols();
}

std::optional<Difference> riblt_decode(const std::vector<CodedSymbol>& remote,
                                       const std::vector<CodedSymbol>& local) {
  std::vector<CodedSymbol> cells = subtract(remote, local);
  if (cells.empty()) return std::nullopt;  // no symbol says nothing, not "no difference"
  std::vector<std::size_t> pure;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (is_pure(cells[i])) pure.push_back(i);
  }
  Difference diff;
  std::size_t peels = 0;
  while (!pure.empty()) {
    const std::size_t home = pure.back();
    pure.pop_back();
    if (!is_pure(cells[home])) continue;  // queued twice, or spoilt by a later peel
    if (++peels > cells.size()) return std::nullopt;
    const EntryId id = EntryId::of_key(cells[home].keysum);
    (cells[home].count > 0 ? diff.only_remote : diff.only_local).push_back(id);
    if (!peel(cells, home, pure)) return std::nullopt;
  }
  if (!std::all_of(cells.begin(), cells.end(), is_empty)) return std::nullopt;
  std::sort(diff.only_remote.begin(), diff.only_remote.end());
  std::sort(diff.only_local.begin(), diff.only_local.end());
  // A set difference names each id once; anything else is a false peel.
  if (has_duplicate(diff.only_remote) || has_duplicate(diff.only_local)) return std::nullopt;
  return diff;
}

std::uint64_t riblt_estimate_difference(const std::vector<CodedSymbol>& remote,
                                        const std::vector<CodedSymbol>& local) {
  return riblt_estimate_cells(subtract(remote, local));
}

std::uint64_t riblt_estimate_cells(const std::vector<CodedSymbol>& cells) {
  if (cells.empty() || is_empty(cells[0])) return 0;  // every item is in cell 0
  const Evidence ev = gather_evidence(cells);
  const bool informed = ev.busy_cells + 1 < cells.size();
  double estimate = 0;
  if (informed) {
    estimate = max_likelihood(ev);
  } else {
    const double floor = static_cast<double>(cells.size()) / 1.4;
    estimate = std::max(floor, expected_one_empty(ev));
  }
  // Cell 0's count is |remote| - |local|: the difference has at least that many items.
  const std::int64_t c = cells[0].count;
  const std::uint64_t count_gap =
      c < 0 ? 0 - static_cast<std::uint64_t>(c) : static_cast<std::uint64_t>(c);
  return std::max({static_cast<std::uint64_t>(std::ceil(estimate)), count_gap, std::uint64_t{1}});
}

// ---- RibltDecoder ----
//
// Invariants: cells_ is remote - local over [0, size()) less every item in peeled_ (each
// subtracted at every index of its stream below size()); nonempty_ counts the cells that
// are not empty; each peeled item's stream stands at its first index >= size(); pure_
// holds (possibly stale) indices of cells that were pure when pushed.

void RibltDecoder::update(std::size_t j, const EntryId& id, std::int64_t sign) {
  CodedSymbol& c = cells_[j];
  const bool was_empty = is_empty(c);
  c.add(id, sign);
  const bool now_empty = is_empty(c);
  if (was_empty && !now_empty) ++nonempty_;
  if (!was_empty && now_empty) {
    assert(nonempty_ > 0);
    --nonempty_;
  }
  if (is_pure(c)) pure_.push_back(j);
}

void RibltDecoder::add(const std::vector<CodedSymbol>& remote, const std::vector<CodedSymbol>& local,
                       std::size_t peel_limit) {
  assert(remote.size() == local.size());
  if (failed_) return;
  const std::size_t from = cells_.size();
  std::vector<CodedSymbol> fresh = subtract(remote, local);
  cells_.insert(cells_.end(), fresh.begin(), fresh.end());
  for (std::size_t j = from; j < cells_.size(); ++j) {
    if (!is_empty(cells_[j])) ++nonempty_;
  }
  // Items already peeled leave the new cells too.
  for (Peeled& p : peeled_) {
    for (; p.stream.current() < cells_.size(); p.stream.advance())
      update(static_cast<std::size_t>(p.stream.current()), p.id, -p.sign);
  }
  for (std::size_t j = from; j < cells_.size(); ++j) {
    if (is_pure(cells_[j])) pure_.push_back(j);
  }
  peel(peel_limit);
}

void RibltDecoder::peel(std::size_t limit) {
  for (std::size_t n = 0; n < limit && !pure_.empty() && !failed_;) {
    const std::size_t home = pure_.back();
    pure_.pop_back();
    if (!is_pure(cells_[home])) continue;  // queued twice, or spoilt by a later peel
    // A correct peel empties a cell for good: more peels than cells means false ones.
    if (peeled_.size() >= cells_.size()) {
      failed_ = true;
      break;
    }
    const EntryId id = EntryId::of_key(cells_[home].keysum);
    const std::int64_t sign = cells_[home].count;
    RibltIndexStream s(id);
    bool visits_home = false;
    for (; s.current() < cells_.size(); s.advance()) {
      const auto j = static_cast<std::size_t>(s.current());
      visits_home = visits_home || j == home;
      update(j, id, -sign);
    }
    if (!visits_home) failed_ = true;  // the cell only looked pure
    peeled_.push_back(Peeled{id, sign, s});
    ++n;
  }
  if (failed_) pure_.clear();
}

std::optional<Difference> RibltDecoder::difference() const {
  Difference diff;
  for (const Peeled& p : peeled_) (p.sign > 0 ? diff.only_remote : diff.only_local).push_back(p.id);
  std::sort(diff.only_remote.begin(), diff.only_remote.end());
  std::sort(diff.only_local.begin(), diff.only_local.end());
  if (has_duplicate(diff.only_remote) || has_duplicate(diff.only_local)) return std::nullopt;
  std::vector<EntryId> both;
  std::set_intersection(diff.only_remote.begin(), diff.only_remote.end(), diff.only_local.begin(),
                        diff.only_local.end(), std::back_inserter(both));
  if (!both.empty()) return std::nullopt;
  return diff;
}

std::uint64_t RibltDecoder::estimate() const {
  if (done()) return peeled_.size();
  return peeled_.size() + std::max<std::uint64_t>(riblt_estimate_cells(cells_), 1);
}

std::size_t coded_symbol_wire_size(const CodedSymbol& s) {
  return varint_size(detail::zigzag(s.count)) + 8 + 8;
}

}  // namespace kittengrad
