// sqlite_records.h — the bytes of a stored record. Entries and journal blocks are kept in
// the wire codec's layout (message_fields.h: the same description the datagrams use, so
// there is one encoder of an entry, not two that drift apart); the namespace is a column
// of the row, so entries carry it as they do in a datagram's envelope. Neighbour marks
// need no bytes: they are plain columns.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kittengrad/entry.h"
#include "kittengrad/journal.h"
#include "kittengrad/result.h"

namespace kittengrad::sqlite {

// The `kind` column of the records table. Stored on disk: never renumber.
enum class RecordKind : std::int64_t { kEntry = 1, kBlock = 2 };

[[nodiscard]] std::vector<std::uint8_t> encode_entry(const Entry& e);
[[nodiscard]] std::vector<std::uint8_t> encode_block(const JournalBlock& b);

// The record in `bytes`, every entry given namespace `ns`; or kBadRequest naming the field
// that is malformed (truncated, out of range, trailing bytes).
[[nodiscard]] Result<Entry> decode_entry(std::span<const std::uint8_t> bytes, const std::string& ns);
[[nodiscard]] Result<JournalBlock> decode_block(std::span<const std::uint8_t> bytes,
                                                const std::string& ns);

}  // namespace kittengrad::sqlite
