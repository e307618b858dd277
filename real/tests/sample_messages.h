// sample_messages.h — messages of every kind for the codec's tests and its fuzz corpus:
// random contents from a seeded Rng, and the largest instance of each kind under a byte
// budget. Both visit Body with one case per kind and no generic case, so a new message
// kind does not compile until it has samples.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kittengrad/messages.h"
#include "kittengrad/rng.h"

namespace kittengrad::codec_samples {

// A message of the given kind (the index in Body) in namespace `ns`: ids and counters of
// every varint width, lists of 0 to 4 items, optionals present or not. Its entries carry
// `ns` (what the decoder gives them). Same rng state, same message.
[[nodiscard]] Message random_message(std::size_t kind, const std::string& ns, Rng& rng);

// The largest message of the kind whose wire_size() is at most `budget`, as the core
// builds it (message_limits: full lists, widest varints, every optional present; kinds
// the core packs by bytes filled with items until the next would not fit).
// REQUIRES: budget >= kMaxDatagramBytesMin - kTransportOverheadBytes.
[[nodiscard]] Message largest_message(std::size_t kind, const std::string& ns,
                                      std::size_t budget);

}  // namespace kittengrad::codec_samples
