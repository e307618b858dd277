// SHA-256 and Ed25519 through libsodium.
#include "kittengrad/crypto.h"

#include <sodium.h>

#include <cstring>

namespace kittengrad {

static_assert(sizeof(crypto_hash_sha256_state) <= 128, "Sha256 state buffer too small");
static_assert(crypto_sign_PUBLICKEYBYTES == 32 && crypto_sign_SECRETKEYBYTES == 64 &&
              crypto_sign_BYTES == 64 && crypto_sign_SEEDBYTES == 32);

bool crypto_init() { return sodium_init() >= 0; }

Hash256 sha256(std::span<const std::uint8_t> data) {
  Hash256 out;
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Hash256 sha256(std::string_view data) {
  return sha256(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

Sha256::Sha256() {
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_.data()));
}

Sha256& Sha256::update(std::span<const std::uint8_t> data) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_.data()),
                            data.data(), data.size());
  return *this;
}

Sha256& Sha256::update(std::string_view data) {
  return update(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

Sha256& Sha256::update_u64(std::uint64_t v) {
  std::uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
  return update(b);
}

Hash256 Sha256::finish() {
  Hash256 out;
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_.data()),
                           out.data());
  return out;
}

KeyPair keypair_from_seed(const std::array<std::uint8_t, 32>& seed) {
  KeyPair kp;
  crypto_sign_seed_keypair(kp.public_key.data(), kp.secret_key.data(), seed.data());
  return kp;
}

KeyPair keypair_from_u64(std::uint64_t seed) {
  return keypair_from_seed(Sha256().update("kittengrad-key").update_u64(seed).finish());
}

Signature sign(const SecretKey& sk, std::span<const std::uint8_t> message) {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), sk.data());
  return sig;
}

bool verify(const PublicKey& pk, std::span<const std::uint8_t> message, const Signature& sig) {
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), pk.data()) == 0;
}

std::string to_hex(std::span<const std::uint8_t> data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(data.size() * 2, '0');
  for (std::size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

}  // namespace kittengrad
