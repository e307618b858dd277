// kittengrad/real/blockstore.h — the embedded content store: records on disk, one file a
// record, named by its CID (CIDv1, raw, sha2-256, as IPFS names it).
//
// A record is written to a temporary file, synced, and renamed into place, so a crash
// leaves either the whole record or none. get() hashes what it reads and refuses bytes
// whose CID does not match their name (a damaged file is an error, never a wrong record).
//
//   auto store = Blockstore::open("~/.local/share/kittengrad/blocks");
//   Result<Cid> cid = store->put(bytes);
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "kittengrad/cid.h"
#include "kittengrad/result.h"

namespace kittengrad::live {

class Blockstore {
 public:
  // Creates the directory (and its parents) when missing. kBadRequest names the
  // directory when it cannot be made or written.
  [[nodiscard]] static Result<Blockstore> open(const std::filesystem::path& dir);

  // Stores the record (once: an existing file of the same CID is kept) and returns its CID.
  [[nodiscard]] Result<Cid> put(std::span<const std::uint8_t> record);
  [[nodiscard]] bool has(const Cid& cid) const;
  // The record's bytes, checked against the CID.
  [[nodiscard]] Result<std::vector<std::uint8_t>> get(const Cid& cid) const;
  [[nodiscard]] std::filesystem::path path_of(const Cid& cid) const;
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

  // Records larger than this are refused: a record is read whole into memory.
  static constexpr std::size_t kRecordBytesMax = 64u << 20;

 private:
  explicit Blockstore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
};

// The whole file, at most Blockstore::kRecordBytesMax bytes; errors name the file.
[[nodiscard]] Result<std::vector<std::uint8_t>> read_record_file(const std::filesystem::path& path);

}  // namespace kittengrad::live
