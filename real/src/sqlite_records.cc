// sqlite_records.cc — stored records through the codec's Writer and Reader.
#include "sqlite_records.h"

#include "message_fields.h"
#include "wire_io.h"

namespace kittengrad::sqlite {

namespace {

using codec::detail::Reader;
using codec::detail::Writer;

// Reads one item described by `describe` from all of `bytes`.
template <typename T, typename Describe>
Result<T> read_all(std::span<const std::uint8_t> bytes, const std::string& ns, const char* kind,
                   Describe describe) {
  Reader r(bytes);
  r.set_kind(kind);
  r.set_namespace(ns);
  T item;
  describe(r, item);
  r.expect_end();
  if (r.failed()) return Error{ErrorCode::kBadRequest, r.error()};
  return item;
}

}  // namespace

std::vector<std::uint8_t> encode_entry(const Entry& e) {
  Writer w(entry_wire_size(e));
  codec::detail::entry(w, e);
  return w.take();
}

std::vector<std::uint8_t> encode_block(const JournalBlock& b) {
  Writer w(block_wire_size(b));
  codec::detail::journal_block(w, b);
  return w.take();
}

Result<Entry> decode_entry(std::span<const std::uint8_t> bytes, const std::string& ns) {
  return read_all<Entry>(bytes, ns, "entry",
                         [](Reader& r, Entry& e) { codec::detail::entry(r, e); });
}

Result<JournalBlock> decode_block(std::span<const std::uint8_t> bytes, const std::string& ns) {
  return read_all<JournalBlock>(bytes, ns, "block", [](Reader& r, JournalBlock& b) {
    codec::detail::journal_block(r, b);
  });
}

}  // namespace kittengrad::sqlite
