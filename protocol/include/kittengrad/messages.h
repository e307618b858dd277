// kittengrad/messages.h — every datagram peers and clients exchange, as plain values.
//
// A Message is an envelope {namespace, body}; the body is one struct of a closed set. The
// sender's address comes from the network, not from the message. Requests carry a
// `req` id chosen by the sender and echoed by the reply. wire_size() is the number of
// bytes the message takes encoded (varints for counts and ids, fixed-size ids, keys,
// hashes and signatures): the simulator charges bandwidth by it and the live codec emits
// exactly that many bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "kittengrad/entry.h"
#include "kittengrad/ids.h"
#include "kittengrad/journal.h"
#include "kittengrad/result.h"
#include "kittengrad/riblt.h"
#include "kittengrad/store.h"

namespace kittengrad {

using Address = std::uint64_t;  // sim: peer index; live: IPv4 << 16 | port

struct NodeRef {
  RingId id;
  Address addr = 0;
  bool operator==(const NodeRef&) const = default;
};

struct KeyRange {  // (from, to] clockwise
  RingId from;
  RingId to;
  bool operator==(const KeyRange&) const = default;
};

// ---- Chord maintenance and routing ----
struct FindSuccessor {  // "who follows key?" (one step of an iterative lookup)
  std::uint64_t req = 0;
  RingId key;
};
struct FindSuccessorReply {
  std::uint64_t req = 0;
  bool found = false;          // nodes = the successors of key, closest first
  std::vector<NodeRef> nodes;  // !found: next hops to try, closest preceding first
};
struct GetNeighbours {  // stabilize: ask the successor for its predecessor and lists
  std::uint64_t req = 0;
};
struct GetNeighboursReply {
  std::uint64_t req = 0;
  std::optional<NodeRef> predecessor;
  std::vector<NodeRef> successors;
  std::vector<NodeRef> predecessors;  // a joining peer's predecessors, before it arrived
  std::uint64_t journal_height = 0;
};
struct Notify {  // "I think I am your predecessor"; carries my predecessor list
  PublicKey public_key{};  // the receiver checks SHA-256(public_key) == sender's id
  std::vector<NodeRef> predecessors;
};
struct Ping {  // check_predecessor
  std::uint64_t req = 0;
};
struct Pong {
  std::uint64_t req = 0;
  std::vector<NodeRef> predecessors;
};
struct LeaveNotice {  // a graceful leave tells both neighbours who replaces it
  NodeRef leaving;
  std::vector<NodeRef> successors;    // for the predecessor
  std::vector<NodeRef> predecessors;  // for the successor
};

// ---- Client operations ----
struct WriteRequest {  // insert / update, single or batched: one acknowledgement
  std::uint64_t req = 0;
  std::vector<Entry> entries;
};
struct ReadRequest {  // lookup(canonical)
  std::uint64_t req = 0;
  Cid canonical;
};
struct RouteRequest {  // route(key): the replica set of key
  std::uint64_t req = 0;
  RingId key;
};
struct ClientReply {  // the answer to any of the three
  std::uint64_t req = 0;
  ErrorCode error = ErrorCode::kOk;
  std::string detail;
  std::vector<NodeRef> redirect;  // wrong_peer: best-known replicas; route: the replicas
  std::vector<Entry> entries;     // lookup: the whole set, ordered
  std::uint32_t hops = 0;         // route: lookup hops taken
  std::uint32_t index = 0;        // bad_signature: index of the first bad entry
};

// ---- Replication ----
struct Replicate {  // coordinator -> replica, and hand-off / repair pushes
  std::uint64_t req = 0;
  std::vector<Entry> entries;
};
struct ReplicateAck {  // sent once the entries are durable
  std::uint64_t req = 0;
  ErrorCode error = ErrorCode::kOk;
};
struct ReadReplica {  // coordinator -> other replicas for read quorum R > 1
  std::uint64_t req = 0;
  RingId key;
};
struct ReadReplicaReply {
  std::uint64_t req = 0;
  std::vector<Entry> entries;
};

// ---- Anti-entropy over a shared range ----
struct AeDigest {
  std::uint64_t session = 0;
  KeyRange range;
  RangeDigest digest;
  std::uint64_t journal_height = 0;
};
struct AeInSync {
  std::uint64_t session = 0;
  std::uint64_t journal_height = 0;
};
struct AeSymbols {  // coded symbols [from, from + symbols.size())
  std::uint64_t session = 0;
  KeyRange range;
  std::uint64_t from = 0;
  std::vector<CodedSymbol> symbols;
  std::int64_t count = 0;  // responder's entry count in the range
};
struct AeMore {
  std::uint64_t session = 0;
  KeyRange range;
  std::uint64_t from = 0;
  std::uint64_t to = 0;
};
struct AeExchange {  // entries the responder lacks, and ids the initiator wants
  std::uint64_t session = 0;
  KeyRange range;
  std::vector<Entry> entries;
  std::vector<std::uint64_t> want;
};
struct AeEntries {
  std::uint64_t session = 0;
  std::vector<Entry> entries;
};
struct RangePull {  // page through a range: joins, and reconciliation of large gaps
  std::uint64_t req = 0;
  KeyRange range;
  std::optional<RingId> after;  // resume after this key ...
  std::uint32_t skip = 0;       // ... or, when > 0, at key `after` past its first `skip` entries
};
struct RangeEntries {  // a page of whole entries, at most one datagram
  std::uint64_t req = 0;
  std::vector<Entry> entries;
  std::optional<RingId> next;   // set when more pages follow: resume after this key ...
  std::uint32_t next_skip = 0;  // ... or, when > 0, inside it (a key too large for a page)
};

// ---- Journal catch-up and subscription ----
struct CatchUp {
  std::uint64_t req = 0;
  std::uint64_t since_height = 0;  // blocks with height > since_height
  std::vector<KeyRange> ranges;
  // When to_entry > 0: one piece of block since_height + 1, its entries [from_entry,
  // to_entry) or as many of them as fit a datagram.
  std::uint32_t from_entry = 0;
  std::uint32_t to_entry = 0;
};
// A piece of a filtered block too large for one datagram: its entries [first, first +
// count). The wanted ones travel whole with their positions (the receiver hashes them);
// every other entry of the piece travels as its hash, in position order. The piece that
// starts at 0 also carries the header and its signature. The receiver collects the
// block's entry hashes piece by piece (32 bytes an entry, at most the block's
// entry_count) and verifies the whole block once it holds all of them; the entries
// themselves verify on their own signatures and need not wait.
struct BlockPiece {
  std::uint64_t height = 0;
  std::optional<BlockHeader> header;  // first == 0 only
  Signature signature{};              // travels with the header
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  std::vector<std::uint32_t> positions;  // of `included`, increasing, in [first, first + count)
  std::vector<Entry> included;
  std::vector<Hash256> hashes;  // of the other count - included.size() entries

  bool operator==(const BlockPiece&) const = default;
};
struct CatchUpReply {
  std::uint64_t req = 0;
  std::vector<FilteredBlock> blocks;  // whole blocks that fit, from since_height + 1
  std::uint64_t head_height = 0;
  bool more = false;
  std::optional<BlockPiece> piece;  // instead of blocks: a block that does not fit whole
};
struct Subscribe {  // renewing an active subscription extends its lease
  std::uint64_t sub = 0;
  std::uint64_t from_height = 0;
};
struct Unsubscribe {
  std::uint64_t sub = 0;
};
struct JournalBlocks {
  std::uint64_t sub = 0;
  std::vector<JournalBlock> blocks;
};
struct JournalLive {  // entries appended since the last block, as they come
  std::uint64_t sub = 0;
  std::vector<Entry> entries;
};
struct Refused {  // generic refusal of a peer-to-peer request (unknown namespace, ...)
  std::uint64_t req = 0;
  ErrorCode error = ErrorCode::kOk;
};

using Body = std::variant<FindSuccessor, FindSuccessorReply, GetNeighbours, GetNeighboursReply,
                          Notify, Ping, Pong, LeaveNotice, WriteRequest, ReadRequest,
                          RouteRequest, ClientReply, Replicate, ReplicateAck, ReadReplica,
                          ReadReplicaReply, AeDigest, AeInSync, AeSymbols, AeMore, AeExchange,
                          AeEntries, RangePull, RangeEntries, CatchUp, CatchUpReply, Subscribe,
                          Unsubscribe, JournalBlocks, JournalLive, Refused>;

struct Message {
  std::string ns;
  Body body;
};

// Short stable name of the body type ("find_successor", "replicate", ...): metrics keys.
[[nodiscard]] const char* message_kind(const Body& b);
[[nodiscard]] std::size_t message_kind_index(const Body& b);
inline constexpr std::size_t kMessageKinds = std::variant_size_v<Body>;
[[nodiscard]] const char* message_kind_name(std::size_t index);
[[nodiscard]] std::size_t wire_size(const Message& m);

}  // namespace kittengrad
