// Store::scan_in — clockwise iteration over (a, b] that the visitor can stop early.
#include "kittengrad/store.h"

namespace kittengrad {

void Store::scan_in(const RingId& a, const RingId& b,
                    const std::function<bool(const RingId&, const KeySlot&)>& f) const {
  auto visit = [&f](auto first, auto last) {
    for (; first != last; ++first)
      if (!f(first->first, first->second)) return false;
    return true;
  };
  if (a < b) {
    visit(slots_.upper_bound(a), slots_.upper_bound(b));
    return;
  }
  // Wrapping (or the whole circle when a == b): (a, max] then [min, b].
  if (!visit(slots_.upper_bound(a), slots_.end())) return;
  visit(slots_.begin(), slots_.upper_bound(b));
}

}  // namespace kittengrad
