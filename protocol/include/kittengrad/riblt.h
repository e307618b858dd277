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

// Estimates the size of the symmetric difference from remote-minus-local symbols that
// failed to decode (maximum likelihood on which cells are empty). At least the number of
// symbols / 1.4 when nothing else is known. 0 iff symbol 0 is empty (equal sets w.h.p.).
// It uses libm (exp, log1p), so another machine may differ by one in rare cases: it sizes
// requests and never decides what a set holds.
[[nodiscard]] std::uint64_t riblt_estimate_difference(const std::vector<CodedSymbol>& remote,
                                                      const std::vector<CodedSymbol>& local);

// Wire size of one coded symbol: varint(zigzag(count)) + 8 + 8 bytes.
[[nodiscard]] std::size_t coded_symbol_wire_size(const CodedSymbol& s);

}  // namespace kittengrad
