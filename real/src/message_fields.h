// message_fields.h — each message's fields in wire order, written once for both the
// Writer and the Reader (wire_io.h). Sizes follow protocol/src/messages.cc (wire_size)
// field for field; codec_test checks encode(m).size() == wire_size(m) for every kind.
//
// `fields(io, m)` has one overload per body type and no generic one: a new message kind
// does not compile until it has its description here.
#pragma once

#include <cstdint>
#include <vector>

#include "kittengrad/messages.h"
#include "wire_io.h"

namespace kittengrad::codec::detail {

// The smallest encodings of list items, which bound what a count may claim.
inline constexpr std::size_t kRangeBytes = 64;
inline constexpr std::size_t kHashBytes = 32;
inline constexpr std::size_t kCodedSymbolBytesMin = 1 + 8 + 8;
inline constexpr std::size_t kHeaderBytesMin = 1 + 32 + 8 + 32 + 1 + 32;
inline constexpr std::size_t kBlockBytesMin = kHeaderBytesMin + 64;
inline constexpr std::size_t kFilteredBlockBytesMin = kBlockBytesMin + 1;

template <typename IO>
void ring_id(IO& io, const char* what, Like<IO, RingId>& id) {
  io.bytes(what, id.bytes);
}

template <typename IO>
void node(IO& io, Like<IO, NodeRef>& n) {
  ring_id(io, "node.id", n.id);
  io.address("node.addr", n.addr);
}

template <typename IO>
void nodes(IO& io, const char* what, Like<IO, std::vector<NodeRef>>& v) {
  const std::size_t n = io.count(what, v, kNodeRefWireBytes);
  for (std::size_t i = 0; i < n; ++i) node(io, v[i]);
}

template <typename IO>
void range(IO& io, Like<IO, KeyRange>& r) {
  ring_id(io, "range.from", r.from);
  ring_id(io, "range.to", r.to);
}

template <typename IO>
void entry(IO& io, Like<IO, Entry>& e) {
  io.entry_namespace(e.ns);
  io.bytes("entry.canonical", e.canonical.bytes);
  io.i64("entry.timestamp", e.timestamp_ms);
  io.bytes("entry.update", e.update.bytes);
  io.bytes("entry.author", e.author);
  io.bytes("entry.signature", e.signature);
}

template <typename IO>
void entries(IO& io, const char* what, Like<IO, std::vector<Entry>>& v) {
  const std::size_t n = io.count(what, v, kEntryWireBytes);
  for (std::size_t i = 0; i < n; ++i) entry(io, v[i]);
}

// An optional entry: a lookup's page cursor.
template <typename IO>
void cursor(IO& io, Like<IO, std::optional<Entry>>& e) {
  if (io.present("after", e)) entry(io, *e);
}

template <typename IO>
void coded_symbol(IO& io, Like<IO, CodedSymbol>& s) {
  io.zigzag("symbol.count", s.count);
  io.u64("symbol.keysum", s.keysum);
  io.u64("symbol.checksum", s.checksum);
}

template <typename IO>
void header(IO& io, Like<IO, BlockHeader>& h) {
  io.varint("header.height", h.height);
  io.bytes("header.prev", h.prev);
  io.i64("header.timestamp", h.timestamp_ms);
  io.bytes("header.entries_root", h.entries_root);
  io.varint32("header.entry_count", h.entry_count);
  io.bytes("header.author", h.author);
}

// A whole block: its entries are counted by the header.
template <typename IO>
void journal_block(IO& io, Like<IO, JournalBlock>& b) {
  header(io, b.header);
  io.bytes("block.signature", b.signature);
  const std::size_t n =
      io.counted_by("block.entries", b.entries, b.header.entry_count, kEntryWireBytes);
  for (std::size_t i = 0; i < n; ++i) entry(io, b.entries[i]);
}

// A filtered block: every entry hash (counted by the header), then the included entries,
// each with its 4-byte position.
template <typename IO>
void filtered_block(IO& io, Like<IO, FilteredBlock>& b) {
  header(io, b.header);
  io.bytes("block.signature", b.signature);
  const std::size_t hashes =
      io.counted_by("block.entry_hashes", b.entry_hashes, b.header.entry_count, kHashBytes);
  for (std::size_t i = 0; i < hashes; ++i) io.bytes("block.entry_hash", b.entry_hashes[i]);
  const std::size_t n = io.count("block.included", b.included, 4 + kEntryWireBytes);
  io.counted_by("block.positions", b.positions, n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    io.u32("block.position", b.positions[i]);
    entry(io, b.included[i]);
  }
}

// A piece: the header and signature only in the first piece; included entries with their
// positions as offsets from `first`; then the other entries' hashes.
template <typename IO>
void piece(IO& io, Like<IO, BlockPiece>& p) {
  io.varint("piece.height", p.height);
  if (io.present("piece.header", p.header)) {
    header(io, *p.header);
    io.bytes("piece.signature", p.signature);
  } else {
    io.absent("piece.signature", p.signature);
  }
  io.varint32("piece.first", p.first);
  io.varint32("piece.count", p.count);
  const std::size_t n = io.count("piece.included", p.included, 1 + kEntryWireBytes);
  io.counted_by("piece.positions", p.positions, n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    io.offset32("piece.position", p.positions[i], p.first);
    entry(io, p.included[i]);
  }
  const std::size_t hashes = io.count("piece.hashes", p.hashes, kHashBytes);
  for (std::size_t i = 0; i < hashes; ++i) io.bytes("piece.hash", p.hashes[i]);
}

// ---- Bodies, in the order of Body ----

template <typename IO>
void fields(IO& io, Like<IO, FindSuccessor>& m) {
  io.varint("req", m.req);
  ring_id(io, "key", m.key);
}
template <typename IO>
void fields(IO& io, Like<IO, FindSuccessorReply>& m) {
  io.varint("req", m.req);
  io.flag("found", m.found);
  nodes(io, "nodes", m.nodes);
}
template <typename IO>
void fields(IO& io, Like<IO, GetNeighbours>& m) {
  io.varint("req", m.req);
}
template <typename IO>
void fields(IO& io, Like<IO, GetNeighboursReply>& m) {
  io.varint("req", m.req);
  if (io.present("predecessor", m.predecessor)) node(io, *m.predecessor);
  nodes(io, "successors", m.successors);
  nodes(io, "predecessors", m.predecessors);
  io.varint("journal_height", m.journal_height);
}
template <typename IO>
void fields(IO& io, Like<IO, Notify>& m) {
  io.bytes("public_key", m.public_key);
  nodes(io, "predecessors", m.predecessors);
}
template <typename IO>
void fields(IO& io, Like<IO, Ping>& m) {
  io.varint("req", m.req);
}
template <typename IO>
void fields(IO& io, Like<IO, Pong>& m) {
  io.varint("req", m.req);
  nodes(io, "predecessors", m.predecessors);
}
template <typename IO>
void fields(IO& io, Like<IO, LeaveNotice>& m) {
  node(io, m.leaving);
  nodes(io, "successors", m.successors);
  nodes(io, "predecessors", m.predecessors);
}
template <typename IO>
void fields(IO& io, Like<IO, WriteRequest>& m) {
  io.varint("req", m.req);
  entries(io, "entries", m.entries);
}
template <typename IO>
void fields(IO& io, Like<IO, ReadRequest>& m) {
  io.varint("req", m.req);
  io.bytes("canonical", m.canonical.bytes);
  cursor(io, m.after);
  io.varint32("pages", m.pages);
}
template <typename IO>
void fields(IO& io, Like<IO, RouteRequest>& m) {
  io.varint("req", m.req);
  ring_id(io, "key", m.key);
}
template <typename IO>
void fields(IO& io, Like<IO, ClientReply>& m) {
  io.varint("req", m.req);
  io.error_code("error", m.error);
  io.string("detail", m.detail);
  nodes(io, "redirect", m.redirect);
  entries(io, "entries", m.entries);
  io.varint32("hops", m.hops);
  io.varint32("index", m.index);
  io.flag("more", m.more);
  io.varint32("page", m.page);
  io.varint32("pages", m.pages);
}
template <typename IO>
void fields(IO& io, Like<IO, Replicate>& m) {
  io.varint("req", m.req);
  entries(io, "entries", m.entries);
}
template <typename IO>
void fields(IO& io, Like<IO, ReplicateAck>& m) {
  io.varint("req", m.req);
  io.error_code("error", m.error);
}
template <typename IO>
void fields(IO& io, Like<IO, ReadReplica>& m) {
  io.varint("req", m.req);
  ring_id(io, "key", m.key);
  cursor(io, m.after);
}
template <typename IO>
void fields(IO& io, Like<IO, ReadReplicaReply>& m) {
  io.varint("req", m.req);
  entries(io, "entries", m.entries);
  io.flag("more", m.more);
}
template <typename IO>
void fields(IO& io, Like<IO, AeDigest>& m) {
  io.varint("session", m.session);
  range(io, m.range);
  coded_symbol(io, m.digest);
  io.varint("journal_height", m.journal_height);
}
template <typename IO>
void fields(IO& io, Like<IO, AeInSync>& m) {
  io.varint("session", m.session);
  io.varint("journal_height", m.journal_height);
}
template <typename IO>
void fields(IO& io, Like<IO, AeSymbols>& m) {
  io.varint("session", m.session);
  range(io, m.range);
  io.varint("from", m.from);
  const std::size_t n = io.count("symbols", m.symbols, kCodedSymbolBytesMin);
  for (std::size_t i = 0; i < n; ++i) coded_symbol(io, m.symbols[i]);
  io.zigzag("count", m.count);
}
template <typename IO>
void fields(IO& io, Like<IO, AeMore>& m) {
  io.varint("session", m.session);
  range(io, m.range);
  io.varint("from", m.from);
  io.varint("to", m.to);
}
template <typename IO>
void fields(IO& io, Like<IO, AeExchange>& m) {
  io.varint("session", m.session);
  range(io, m.range);
  entries(io, "entries", m.entries);
  const std::size_t n = io.count("want", m.want, 8);
  for (std::size_t i = 0; i < n; ++i) io.u64("want", m.want[i]);
}
template <typename IO>
void fields(IO& io, Like<IO, AeEntries>& m) {
  io.varint("session", m.session);
  entries(io, "entries", m.entries);
}
template <typename IO>
void fields(IO& io, Like<IO, RangePull>& m) {
  io.varint("req", m.req);
  range(io, m.range);
  if (io.present("after", m.after)) ring_id(io, "after", *m.after);
  io.varint32("skip", m.skip);
}
template <typename IO>
void fields(IO& io, Like<IO, RangeEntries>& m) {
  io.varint("req", m.req);
  entries(io, "entries", m.entries);
  if (io.present("next", m.next)) ring_id(io, "next", *m.next);
  io.varint32("next_skip", m.next_skip);
}
template <typename IO>
void fields(IO& io, Like<IO, CatchUp>& m) {
  io.varint("req", m.req);
  io.varint("since_height", m.since_height);
  const std::size_t n = io.count("ranges", m.ranges, kRangeBytes);
  for (std::size_t i = 0; i < n; ++i) range(io, m.ranges[i]);
  io.varint32("from_entry", m.from_entry);
  io.varint32("to_entry", m.to_entry);
  io.varint32("max_bytes", m.max_bytes);
}
template <typename IO>
void fields(IO& io, Like<IO, CatchUpReply>& m) {
  io.varint("req", m.req);
  const std::size_t n = io.count("blocks", m.blocks, kFilteredBlockBytesMin);
  io.varint("head_height", m.head_height);
  io.flag("more", m.more);
  for (std::size_t i = 0; i < n; ++i) filtered_block(io, m.blocks[i]);
  if (io.present("piece", m.piece)) piece(io, *m.piece);
}
template <typename IO>
void fields(IO& io, Like<IO, Subscribe>& m) {
  io.varint("sub", m.sub);
  io.varint("from_height", m.from_height);
}
template <typename IO>
void fields(IO& io, Like<IO, Unsubscribe>& m) {
  io.varint("sub", m.sub);
}
template <typename IO>
void fields(IO& io, Like<IO, JournalBlocks>& m) {
  io.varint("sub", m.sub);
  const std::size_t n = io.count("blocks", m.blocks, kBlockBytesMin);
  for (std::size_t i = 0; i < n; ++i) journal_block(io, m.blocks[i]);
}
template <typename IO>
void fields(IO& io, Like<IO, JournalLive>& m) {
  io.varint("sub", m.sub);
  entries(io, "entries", m.entries);
}
template <typename IO>
void fields(IO& io, Like<IO, Refused>& m) {
  io.varint("req", m.req);
  io.error_code("error", m.error);
}

}  // namespace kittengrad::codec::detail
