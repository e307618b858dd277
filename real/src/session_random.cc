// session_random.cc — see session_random.h.
#include "session_random.h"

#include <sodium.h>

namespace kittengrad::session {

SessionRandom::~SessionRandom() { sodium_memzero(key_.data(), key_.size()); }

void SessionRandom::fill(std::span<std::uint8_t> out) {
  static_assert(crypto_stream_chacha20_ietf_NONCEBYTES == 12);
  std::array<std::uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<std::uint8_t>(calls_ >> (8 * i));
  ++calls_;
  crypto_stream_chacha20_ietf(out.data(), out.size(), nonce.data(), key_.data());
}

std::uint32_t SessionRandom::u32() {
  const auto b = bytes<4>();
  return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
}

}  // namespace kittengrad::session
