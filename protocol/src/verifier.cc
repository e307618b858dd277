// The signature cache: see verifier.h.
#include "kittengrad/verifier.h"

#include <algorithm>
#include <utility>

namespace kittengrad {

SignatureCache::SignatureCache(std::size_t capacity)
    : generation_max_(std::max<std::size_t>(1, capacity / 2)) {}

// A hit answers exactly as verify_entry would: equal hashes mean equal signing bytes and
// signature, and the signing bytes fix the namespace (its length byte is exact up to 254
// bytes, far past the limit of a valid entry) and both CIDs, which is all it looks at.
bool SignatureCache::verify(const Entry& e) {
  const Hash256 h = entry_hash(e);
  if (current_.count(h) != 0) {
    ++hits_;
    return true;
  }
  if (previous_.count(h) != 0) {
    ++hits_;
    remember(h);
    return true;
  }
  ++checks_;
  if (!verify_entry(e)) return false;
  remember(h);
  return true;
}

void SignatureCache::remember(const Hash256& h) {
  if (current_.size() >= generation_max_) {
    previous_ = std::exchange(current_, Generation{});
  }
  current_.insert(h);
}

}  // namespace kittengrad
