// kittengrad/verifier.h — entry signature checks behind a seam, so that a check is paid once.
//
// A signature's validity is a pure function of the entry's bytes. A peer therefore never
// needs to check the same entry twice, and peers that share a process (a simulation, the
// test network) need not check an entry that any of them has checked. The core asks a
// SignatureVerifier it receives through Env; a driver may hand every peer the same
// SignatureCache, and a peer given none keeps a small one of its own.
//
//   SignatureCache cache(1 << 20);
//   Env env{&clock, &network, &storage, &cache};
//   assert(cache.verify(entry) == verify_entry(entry));
//
// Why the key is entry_hash: it covers the signing bytes AND the signature. A key over the
// signed fields alone would let a forgery (the fields of a valid entry, another signature)
// pass as the valid entry it copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <unordered_set>

#include "kittengrad/entry.h"

namespace kittengrad {

class SignatureVerifier {
 public:
  virtual ~SignatureVerifier() = default;
  // Exactly verify_entry(e), for every e; an implementation may answer from memory.
  [[nodiscard]] virtual bool verify(const Entry& e) = 0;
};

// A bounded memory of the entries known to verify, keyed by entry_hash. Only successes are
// kept: a flood of forgeries costs a check each (as without the cache) and cannot push
// valid entries out faster than new valid entries would. Bounded by two generations: when
// the current one holds capacity / 2 hashes it becomes the previous one (the one before
// is dropped), and a hit in the previous one moves the hash to the current one. So the
// recently used hashes stay, at most `capacity` are held, and every operation is O(1).
// Not thread-safe: a simulation's actors take turns on one thread.
class SignatureCache final : public SignatureVerifier {
 public:
  explicit SignatureCache(std::size_t capacity);

  [[nodiscard]] bool verify(const Entry& e) override;

  [[nodiscard]] std::uint64_t hits() const { return hits_; }
  [[nodiscard]] std::uint64_t checks() const { return checks_; }  // verify_entry calls
  [[nodiscard]] std::size_t size() const { return current_.size() + previous_.size(); }
  [[nodiscard]] std::size_t capacity() const { return 2 * generation_max_; }

 private:
  struct HashOfHash {  // the key is a SHA-256 digest already: any 8 bytes of it will do
    std::size_t operator()(const Hash256& h) const {
      std::size_t x = 0;
      std::memcpy(&x, h.data(), sizeof x);
      return x;
    }
  };
  using Generation = std::unordered_set<Hash256, HashOfHash>;
  void remember(const Hash256& h);

  std::size_t generation_max_;
  Generation current_, previous_;
  std::uint64_t hits_ = 0, checks_ = 0;
};

}  // namespace kittengrad
