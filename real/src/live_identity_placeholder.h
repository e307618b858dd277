// live_identity_placeholder.h — PLACEHOLDER until the merge: the sqlite helper's
// load_or_create_identity replaces this file, and the lead deletes it.
//
// The identity file holds the 32-byte Ed25519 seed as 64 hex digits and a newline; it is
// created with mode 0600 (O_EXCL, so two daemons never race to different keys).
#pragma once

#include <string>

#include "kittengrad/crypto.h"
#include "kittengrad/result.h"

namespace kittengrad::live {

[[nodiscard]] Result<KeyPair> load_or_create_identity_placeholder(const std::string& path);

}  // namespace kittengrad::live
