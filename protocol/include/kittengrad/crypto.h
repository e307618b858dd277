// kittengrad/crypto.h — SHA-256 and Ed25519 identities, on libsodium.
//
// A peer is an Ed25519 key pair; its ring position is SHA-256(public key). Key pairs are
// derived from 32-byte seeds so that a simulation with the same root seed creates the same
// peers. crypto_init() must be called once before any other function (it is idempotent).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "kittengrad/ids.h"

namespace kittengrad {

using Hash256 = std::array<std::uint8_t, 32>;
using PublicKey = std::array<std::uint8_t, 32>;
using SecretKey = std::array<std::uint8_t, 64>;
using Signature = std::array<std::uint8_t, 64>;

// Initialises libsodium. Returns false only if the library cannot start (no entropy).
[[nodiscard]] bool crypto_init();

[[nodiscard]] Hash256 sha256(std::span<const std::uint8_t> data);
[[nodiscard]] Hash256 sha256(std::string_view data);

// Incremental SHA-256 for hashing structures field by field without a copy.
class Sha256 {
 public:
  Sha256();
  Sha256& update(std::span<const std::uint8_t> data);
  Sha256& update(std::string_view data);
  Sha256& update_u64(std::uint64_t v);  // big-endian
  [[nodiscard]] Hash256 finish();

 private:
  alignas(64) std::array<std::uint8_t, 128> state_{};  // crypto_hash_sha256_state
};

struct KeyPair {
  PublicKey public_key{};
  SecretKey secret_key{};

  [[nodiscard]] RingId ring_id() const { return RingId::of_bytes(public_key); }
};

// Deterministic key pair from a 32-byte seed.
[[nodiscard]] KeyPair keypair_from_seed(const std::array<std::uint8_t, 32>& seed);
// Deterministic key pair from a 64-bit seed (expanded with SHA-256): simulations and tests.
[[nodiscard]] KeyPair keypair_from_u64(std::uint64_t seed);

[[nodiscard]] Signature sign(const SecretKey& sk, std::span<const std::uint8_t> message);
[[nodiscard]] bool verify(const PublicKey& pk, std::span<const std::uint8_t> message,
                          const Signature& sig);

[[nodiscard]] std::string to_hex(std::span<const std::uint8_t> data);

}  // namespace kittengrad
