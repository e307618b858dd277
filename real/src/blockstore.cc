// blockstore.cc — records on disk by CID, written atomically, checked when read.
#include "kittengrad/real/blockstore.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

namespace kittengrad::live {
namespace {

Error io_error(const std::string& what, const std::filesystem::path& p, int err) {
  return Error{ErrorCode::kBadRequest, what + " " + p.string() + ": " + std::strerror(err)};
}

bool write_all(int fd, std::span<const std::uint8_t> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

Result<Blockstore> Blockstore::open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    return Error{ErrorCode::kBadRequest,
                 "cannot use " + dir.string() + " as the blockstore directory" +
                     (ec ? ": " + ec.message() : ": not a directory") +
                     " (choose another with --blocks DIR)"};
  }
  if (::access(dir.c_str(), W_OK) != 0) return io_error("cannot write to the blockstore", dir, errno);
  return Blockstore(dir);
}

std::filesystem::path Blockstore::path_of(const Cid& cid) const { return dir_ / cid.to_string(); }

bool Blockstore::has(const Cid& cid) const {
  std::error_code ec;
  return std::filesystem::is_regular_file(path_of(cid), ec);
}

Result<Cid> Blockstore::put(std::span<const std::uint8_t> record) {
  if (record.size() > kRecordBytesMax) {
    return Error{ErrorCode::kBadRequest, "a record of " + std::to_string(record.size()) +
                                             " bytes is larger than the blockstore takes (" +
                                             std::to_string(kRecordBytesMax) + ")"};
  }
  const Cid cid = Cid::of_record(record);
  const std::filesystem::path final_path = path_of(cid);
  if (has(cid)) return cid;
  std::string tmp = (dir_ / (".put-" + cid.to_string() + "-XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return io_error("cannot create a file in", dir_, errno);
  const bool ok = write_all(fd, record) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    const int e = ok ? errno : err;
    ::unlink(tmp.c_str());
    return io_error("cannot store the record in", dir_, e);
  }
  // The rename is durable once the directory is.
  const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return cid;
}

Result<std::vector<std::uint8_t>> Blockstore::get(const Cid& cid) const {
  Result<std::vector<std::uint8_t>> bytes = read_record_file(path_of(cid));
  if (!bytes) return bytes;
  if (Cid::of_record(*bytes) != cid) {
    return Error{ErrorCode::kBadBlock, "the blockstore file " + path_of(cid).string() +
                                           " does not hash to its CID (damaged); remove it"};
  }
  return bytes;
}

Result<std::vector<std::uint8_t>> read_record_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Error{ErrorCode::kBadRequest, "no such record file: " + path.string()};
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Error{ErrorCode::kBadRequest, "cannot read " + path.string() + ": " + ec.message()};
  if (size > Blockstore::kRecordBytesMax) {
    return Error{ErrorCode::kBadRequest, path.string() + " is " + std::to_string(size) +
                                             " bytes; records are at most " +
                                             std::to_string(Blockstore::kRecordBytesMax)};
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return Error{ErrorCode::kBadRequest, "cannot read " + path.string()};
  return bytes;
}

}  // namespace kittengrad::live
