// kittengrad/riblt.h — rateless invertible Bloom lookup tables for set reconciliation.
//
// Design (after Yang, Gilad, Alizadeh, SIGCOMM 2024). Each side maps every item of its set
// to an infinite sequence of coded symbols: item x goes to symbol 0 and then to index i
// with probability 1/(1 + i/2), at indices drawn from a generator seeded by x, so both
// sides agree on them without talking. A coded symbol is (count, XOR of keys, XOR of
// checks) — the same shape as RangeDigest, and symbol 0 *is* the range digest. The
// receiver subtracts its own symbols from the sender's and peels "pure" cells: |count| == 1
// and checksum == EntryId::of_key(keysum).check, which is why an EntryId's check is derived
// from its key (see store.h). d differences decode from about 1.35-1.7 d symbols, so the
// sender can stream symbols in batches until the receiver succeeds.
//
//   std::vector<CodedSymbol> theirs = riblt_encode(their_ids, 0, 128);  // sent to us
//   std::vector<CodedSymbol> ours = riblt_encode(our_ids, 0, 128);
//   if (auto diff = riblt_decode(theirs, ours)) { /* fetch diff->only_remote ... */ }
//   else { /* ask for about 1.5 * riblt_estimate_difference(theirs, ours) symbols */ }
//
// Indices and symbols use only integer and correctly rounded IEEE arithmetic (+, *, /,
// sqrt), so both sides agree on them bit for bit on any machine.
#pragma once

#include <cstdint>
#include <cstddef>
#include <optional>
#include <vector>

#include "kittengrad/store.h"

namespace kittengrad {

using CodedSymbol = RangeDigest;

// The indices at which one item appears, generated lazily and deterministically: 0 first,
// then strictly increasing. Past 2^52 (never reached in practice) current() stays at
// UINT64_MAX, "no further index".
class RibltIndexStream {
 public:
  explicit RibltIndexStream(const EntryId& id);
  [[nodiscard]] std::uint64_t current() const { return index_; }
  void advance();

 private:
  std::uint64_t index_ = 0;
  std::uint64_t state_;
};

// Accumulates symbols [from, to) of a set given item by item.
class RibltEncoder {
 public:
  RibltEncoder(std::uint64_t from, std::uint64_t to);
  void add(const EntryId& id, std::int64_t sign = 1);
  [[nodiscard]] const std::vector<CodedSymbol>& symbols() const { return symbols_; }
  [[nodiscard]] std::uint64_t from() const { return from_; }

 private:
  std::uint64_t from_, to_;
  std::vector<CodedSymbol> symbols_;
};

struct Difference {
  std::vector<EntryId> only_remote;  // the remote side has them, we lack them
  std::vector<EntryId> only_local;   // we have them, the remote side lacks them
};

// Symbols [from, to) of a set of ids, from <= to: the encoder in one call.
[[nodiscard]] std::vector<CodedSymbol> riblt_encode(const std::vector<EntryId>& ids,
                                                    std::uint64_t from, std::uint64_t to);

// Peels remote-minus-local symbols. `remote` are the remote side's symbols [0, m);
// `local` our own symbols over the same indices. Returns the difference if every symbol
// peels to zero, nothing otherwise (more symbols are needed). Only the first
// min(remote.size(), local.size()) symbols are used; both lists come back sorted.
[[nodiscard]] std::optional<Difference> riblt_decode(const std::vector<CodedSymbol>& remote,
                                                     const std::vector<CodedSymbol>& local);

// The same decode, a batch of symbols at a time: items peel as the symbols that free them
// arrive, so the work of a decode spreads over the batches (each item is peeled once; a
// later batch only advances the index streams of the items already peeled) instead of
// being done whole, and again, at each attempt. A session feeds it pages as they come.
//
//   RibltDecoder dec;
//   dec.add(remote_page, local_page);   // symbols [dec.size(), dec.size() + page)
//   if (dec.done()) use(*dec.difference());
//   else if (dec.failed()) give_up();   // a cell only looked pure (about 2^-64 a cell)
//   else ask_for(dec.estimate());
class RibltDecoder {
 public:
  // Appends symbols [size(), size() + n): the remote side's and our own over the same
  // indices, and peels at most `peel_limit` items. REQUIRES: remote.size() == local.size().
  void add(const std::vector<CodedSymbol>& remote, const std::vector<CodedSymbol>& local,
           std::size_t peel_limit = SIZE_MAX);
  // Peels at most `limit` more items. Near the threshold most items free each other in
  // one cascade: a caller that bounds its work per event peels in slices.
  void peel(std::size_t limit);
  // Cells wait to be peeled.
  [[nodiscard]] bool peeling() const { return !failed_ && !pure_.empty(); }
  [[nodiscard]] std::size_t size() const { return cells_.size(); }
  // Every symbol peeled to zero: difference() is the whole difference.
  [[nodiscard]] bool done() const { return !failed_ && !cells_.empty() && nonempty_ == 0; }
  // A peel turned out false: this decoder cannot go on.
  [[nodiscard]] bool failed() const { return failed_; }
  // The items peeled so far, each list sorted; nothing if an id came out twice (a false
  // peel: a set difference names each id once).
  [[nodiscard]] std::optional<Difference> difference() const;
  // The size of the whole difference: items peeled, plus an estimate of those left
  // (riblt_estimate_difference over what is left). At least 1 unless done().
  [[nodiscard]] std::uint64_t estimate() const;

 private:
  struct Peeled {
    EntryId id;
    std::int64_t sign;
    RibltIndexStream stream;  // at its first index >= size()
  };
  void update(std::size_t j, const EntryId& id, std::int64_t sign);

  std::vector<CodedSymbol> cells_;  // remote - local, less the items peeled
  std::vector<Peeled> peeled_;
  std::vector<std::size_t> pure_;
  std::size_t nonempty_ = 0;
  bool failed_ = false;
};

// Estimates the size of the symmetric difference from remote-minus-local symbols that
// failed to decode (maximum likelihood on which cells are empty). At least the number of
// symbols / 1.4 when nothing else is known. 0 iff symbol 0 is empty (equal sets w.h.p.).
// It uses libm (exp, log1p), so another machine may differ by one in rare cases: it sizes
// requests and never decides what a set holds.
[[nodiscard]] std::uint64_t riblt_estimate_difference(const std::vector<CodedSymbol>& remote,
                                                      const std::vector<CodedSymbol>& local);
// The same from the difference cells themselves (remote - local, cell by cell).
[[nodiscard]] std::uint64_t riblt_estimate_cells(const std::vector<CodedSymbol>& cells);

// Wire size of one coded symbol: varint(zigzag(count)) + 8 + 8 bytes.
[[nodiscard]] std::size_t coded_symbol_wire_size(const CodedSymbol& s);

}  // namespace kittengrad
