// live_identity_placeholder.cc — see the header: deleted at the merge.
#include "live_identity_placeholder.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kittengrad::live {

namespace {

Error failed(const std::string& path, const std::string& why) {
  return Error{ErrorCode::kBadRequest, "identity file " + path + ": " + why};
}

}  // namespace

Result<KeyPair> load_or_create_identity_placeholder(const std::string& path) {
  std::array<std::uint8_t, 32> seed{};
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    randombytes_buf(seed.data(), seed.size());
    const std::string text = to_hex(seed) + "\n";
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                    ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return failed(path, std::string("cannot write: ") + std::strerror(errno));
    return keypair_from_seed(seed);
  }
  if (errno != EEXIST) return failed(path, std::string("cannot create: ") + std::strerror(errno));
  std::ifstream in(path);
  std::string hex;
  in >> hex;
  if (hex.size() != 64) return failed(path, "expected 64 hex digits (an Ed25519 seed)");
  for (std::size_t i = 0; i < 32; ++i) {
    unsigned v = 0;
    std::istringstream byte(hex.substr(2 * i, 2));
    if (!(byte >> std::hex >> v) || hex.substr(2 * i, 2).find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return failed(path, "expected 64 hex digits (an Ed25519 seed)");
    }
    seed[i] = static_cast<std::uint8_t>(v);
  }
  return keypair_from_seed(seed);
}

}  // namespace kittengrad::live
