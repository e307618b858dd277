// identity_file.cc — reading, checking and atomically creating an identity file.
#include "kittengrad/real/identity_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace kittengrad {

namespace {

using Seed = std::array<std::uint8_t, 32>;

constexpr std::size_t kSeedHexDigits = 64;
// The header line, the hex line, each with its newline.
constexpr std::size_t kFileBytes = std::string_view(kIdentityHeader).size() + 1 + kSeedHexDigits + 1;

Error problem(const std::string& path, const std::string& what) {
  return Error{ErrorCode::kBadRequest, "identity file " + path + ": " + what};
}

Error system_problem(const std::string& path, const char* doing, int err) {
  std::string what = std::string(doing) + ": " + std::strerror(err);
  if (err == ENOENT || err == EACCES || err == EROFS || err == ENOTDIR) {
    what += "; check that its directory exists and that this user may write there";
  }
  return problem(path, what);
}

// Closes a file descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  // Closes now and reports whether the close succeeded (it can report a write error).
  [[nodiscard]] bool close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Result<KeyPair> parse(const std::string& path, std::string_view text) {
  const std::string_view header(kIdentityHeader);
  if (text.size() != kFileBytes) {
    return problem(path, "is " + std::to_string(text.size()) + " bytes, an identity file is " +
                             std::to_string(kFileBytes) + " (the line '" + std::string(header) +
                             "' and 64 hex digits): is it the right file?");
  }
  if (text.substr(0, header.size()) != header || text[header.size()] != '\n' ||
      text.back() != '\n') {
    return problem(path, "does not hold the line '" + std::string(header) +
                             "' then the seed's line: is it the right file?");
  }
  const std::string_view hex = text.substr(header.size() + 1, kSeedHexDigits);
  Seed seed{};
  for (std::size_t i = 0; i < seed.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return problem(path, "the seed line holds a character that is not a lowercase hex "
                           "digit: is it the right file?");
    }
    seed[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  KeyPair keys = keypair_from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return keys;
}

Result<KeyPair> read_identity(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return system_problem(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return system_problem(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) return problem(path, "is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return problem(path, std::string("has mode ") + mode +
                             ": group or others may access the secret key. Run `chmod 600 " +
                             path + "` (and make a new identity if others may have read it)");
  }
  std::string text(kFileBytes + 1, '\0');  // one byte more, to see a longer file
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return system_problem(path, "cannot read", errno);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  Result<KeyPair> keys = parse(path, text);
  sodium_memzero(text.data(), text.size());
  return keys;
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Writes a new identity to a private temporary file and links it to `path`: a crash leaves
// either no identity file or a complete one, never a half-written one that the next start
// would refuse.
Result<KeyPair> create_identity(const std::string& path) {
  Seed seed{};
  randombytes_buf(seed.data(), seed.size());
  std::string text = identity_file_text(seed);
  const KeyPair keys = keypair_from_seed(seed);
  sodium_memzero(seed.data(), seed.size());

  std::string tmp = path + ".new-XXXXXX";
  // mkostemp opens with O_CREAT | O_EXCL and mode 0600.
  Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (fd.get() < 0) return system_problem(path, "cannot create", errno);
  const bool written = write_all(fd.get(), text) && ::fsync(fd.get()) == 0;
  const int write_errno = errno;
  sodium_memzero(text.data(), text.size());
  if (!written || !fd.close()) {
    ::unlink(tmp.c_str());
    return system_problem(path, "cannot write", write_errno);
  }
  // link() refuses to replace: if another process created the file meanwhile, use theirs.
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0 && link_errno == EEXIST) return read_identity(path);
  if (linked != 0) return system_problem(path, "cannot create", link_errno);

  const std::string dir = directory_of(path);
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    return system_problem(path, "cannot sync its directory", errno);
  }
  return keys;
}

}  // namespace

std::string identity_file_text(const Seed& seed) {
  return std::string(kIdentityHeader) + "\n" + to_hex(seed) + "\n";
}

Result<KeyPair> load_or_create_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return read_identity(path);
  if (errno != ENOENT) return system_problem(path, "cannot stat", errno);
  return create_identity(path);
}

}  // namespace kittengrad
