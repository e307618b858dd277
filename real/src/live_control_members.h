// live_control_members.h — the members file of a ring that starts formed
// (overlay.bootstrap = "instant" under `kittengrad live`): one line per member,
//   PUBKEYHEX HOST:PORT
// (64 lowercase or uppercase hex digits, a space, a numeric address). Blank lines and lines
// starting with '#' are skipped. Errors name the file and the line.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/messages.h"
#include "kittengrad/result.h"

namespace kittengrad::live {

// 64 hex digits as a key; nullopt for anything else.
[[nodiscard]] std::optional<PublicKey> parse_public_key_hex(std::string_view hex);

// The members as the core's start_instant takes them: sorted by ring id. kBadRequest for
// an unreadable file, a bad line, a key or an address listed twice.
[[nodiscard]] Result<std::vector<NodeRef>> load_members(const std::string& path);

}  // namespace kittengrad::live
