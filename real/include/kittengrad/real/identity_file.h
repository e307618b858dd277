// kittengrad/real/identity_file.h — a peer's (or a client's) Ed25519 identity on disk.
//
// The file holds the key pair's 32-byte seed as text, so that it can be printed, diffed and
// backed up like any small secret:
//
//   kittengrad-ed25519-seed v1
//   9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//
// (the header line, then 64 lowercase hex digits, each line ending in '\n'). Whoever reads
// the seed can act as the peer, so the file must be private: it is created with mode 0600
// and refused when group or others may read or write it, as ssh refuses a private key.
//
//   Result<KeyPair> keys = load_or_create_identity(config.identity);
//   if (!keys) return fail(keys.error().detail);   // names the file and what to do
//
// Used by the daemon (`identity` in the peer config) and the client (`--identity FILE`).
#pragma once

#include <string>

#include "kittengrad/crypto.h"
#include "kittengrad/result.h"

namespace kittengrad {

// The first line of an identity file.
inline constexpr const char* kIdentityHeader = "kittengrad-ed25519-seed v1";

// The key pair in `path`. If the file does not exist, makes a new random key pair and
// writes it there first: created complete or not at all (a private temporary file in the
// same directory, fsynced, then linked into place and the directory fsynced), with mode
// 0600; a file another process created meanwhile is read, not overwritten.
// Errors (kBadRequest) name the file and what to do: a file group or others may access, a
// file of the wrong length or format, a path that is not a regular file, a directory that
// does not exist or cannot be written.
// REQUIRES: crypto_init() has succeeded.
[[nodiscard]] Result<KeyPair> load_or_create_identity(const std::string& path);

// The file's contents for `seed`: the header line and the hex seed.
[[nodiscard]] std::string identity_file_text(const std::array<std::uint8_t, 32>& seed);

}  // namespace kittengrad
