// live_control_members.cc — the members file (see the header).
#include "live_control_members.h"

#include <algorithm>
#include <fstream>
#include <set>

#include "kittengrad/real/live_address.h"

namespace kittengrad::live {

namespace {

constexpr std::size_t kMembersMax = 65534;  // the run's hosts (live_control_wire.h)

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<PublicKey> parse_public_key_hex(std::string_view hex) {
  PublicKey k{};
  if (hex.size() != 2 * k.size()) return std::nullopt;
  for (std::size_t i = 0; i < k.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    k[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return k;
}

Result<std::vector<NodeRef>> load_members(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{ErrorCode::kBadRequest, path + ": cannot read the members file"};
  std::vector<NodeRef> members;
  std::set<Address> addresses;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    auto bad = [&](const std::string& what) {
      return Error{ErrorCode::kBadRequest, path + ":" + std::to_string(number) + ": " + what};
    };
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.find(' ');
    if (space == std::string::npos) return bad("expected `PUBKEYHEX HOST:PORT`");
    const std::optional<PublicKey> key = parse_public_key_hex(std::string_view(line).substr(0, space));
    if (!key) return bad("the key must be 64 hex digits");
    auto ep = parse_host_port(std::string_view(line).substr(space + 1));
    if (!ep) return bad(ep.error().detail);
    const std::optional<Address> addr = address_of(*ep);
    if (!addr) return bad("the address book is full");
    if (!addresses.insert(*addr).second) return bad(format_endpoint(*ep) + " is listed twice");
    if (members.size() == kMembersMax) return bad("more than " + std::to_string(kMembersMax) + " members");
    members.push_back(NodeRef{RingId::of_bytes(*key), *addr});
  }
  if (in.bad()) return Error{ErrorCode::kBadRequest, path + ": cannot read the members file"};
  std::sort(members.begin(), members.end(), [](const NodeRef& a, const NodeRef& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < members.size(); ++i) {
    if (members[i].id == members[i - 1].id) {
      return Error{ErrorCode::kBadRequest, path + ": a key is listed twice (" + members[i].id.short_hex() + ")"};
    }
  }
  if (members.empty()) return Error{ErrorCode::kBadRequest, path + ": no members"};
  return members;
}

}  // namespace kittengrad::live
