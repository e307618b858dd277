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

using Address = std::uint64_t;  // sim: peer index; live: IPv4 << 16 | port, or an IPv6 handle

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
struct ReadRequest {  // lookup(canonical): a window of pages of the set
  std::uint64_t req = 0;
  Cid canonical;
  std::optional<Entry> after;  // the window starts after this entry (the last one received)
  // Pages the replica may answer with at once, each its own ClientReply (page 0, 1, ...),
  // so a large set costs one round trip a window, not one a page. The replica sends at
  // most PeerConfig::read_window_max.
  std::uint32_t pages = 1;
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
  bool more = false;              // lookup: more of the set follows the last entry
  std::uint32_t page = 0;         // lookup: this page's place in the request's window ...
  std::uint32_t pages = 1;        // ... of this many pages (the client takes them in order)
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
  std::optional<Entry> after;  // the same page as the client asked for
};
struct ReadReplicaReply {
  std::uint64_t req = 0;
  std::vector<Entry> entries;
  bool more = false;  // the replica holds entries after the last one sent
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
  // The asker's message budget: the answer fits the smaller of it and the responder's
  // own (peers may be configured with different max_datagram_bytes; a journal written
  // with larger blocks is then read in pieces). 0: the responder's budget.
  std::uint32_t max_bytes = 0;
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

// ---- Datagram limits ----
// What the live transport adds to every datagram around the core's encoded message: a
// session header (type, receiver index, counter) and the AEAD tag. The core keeps every
// message's wire_size() within max_datagram_bytes - kTransportOverheadBytes
// (PeerConfig::message_budget()), so the sealed datagram fits max_datagram_bytes.
inline constexpr std::size_t kTransportOverheadBytes = 32;
// The UDP/IPv4 header bytes a datagram costs beside its payload: what the simulator
// charges and what the live transport counts, so the two worlds count bytes alike.
inline constexpr std::size_t kUdpIpHeaderBytes = 28;
inline constexpr std::size_t kMaxDatagramBytesMin = 512;
inline constexpr std::size_t kMaxDatagramBytesMax = 65000;

// Every message's items are fixed-size (entries, node references) or counted, so a byte
// budget (PeerConfig::message_budget()) turns into item counts once, and the senders page
// by those counts. tests/unit/message_limits_test.cc builds the largest instance of every
// message under these limits and checks its wire_size().
// A node's address travels as a family byte and then an IPv4 address and port (6 bytes)
// for Addresses below 2^48 (the simulator's peer indices fall there too), or an IPv6
// address and port (18 bytes) for the larger ones, which the live backend uses as
// handles of IPv6 endpoints.
[[nodiscard]] constexpr std::size_t address_wire_bytes(Address a) {
  return 1 + ((a >> 48) == 0 ? 6 : 18);
}
// Limits count nodes of the IPv4 size; fit_to_limits() cuts lists of IPv6 nodes by bytes.
inline constexpr std::size_t kNodeRefWireBytes = 32 + 1 + 6;
inline constexpr std::size_t kNodeRefWireBytesMax = 32 + 1 + 18;
// The envelope: a kind byte and the namespace as an 8-byte id (the first bytes of
// SHA-256 of its name; each peer knows the names it serves), so that every namespace
// costs the same and a long name takes no room from the payload.
inline constexpr std::size_t kEnvelopeBytes = 1 + 8;
inline constexpr std::size_t kDetailBytesMax = 120;  // a ClientReply's human-readable detail
// What a page of entries carries besides the entries, at most: the envelope, a request or
// session id, a key range, a count, an optional resume key and a few flags.
inline constexpr std::size_t kEntryPageFixedBytes = kEnvelopeBytes + 10 + 64 + 3 + 33 + 12;
// What a message with node lists carries besides them, at most (two lists: successors and
// predecessors, a predecessor, a journal height; or one list with a detail string).
inline constexpr std::size_t kNodeListFixedBytes = kEnvelopeBytes + 10 + 1 + kNodeRefWireBytes +
                                                   10 + 4;

// What a message with one journal block carries besides it, at most (a catch-up reply:
// request id, block count, head height, flag), and a block besides its entries (header
// and signature). Filtered for catch-up, each entry adds its hash and position.
inline constexpr std::size_t kBlockMessageFixedBytes = kEnvelopeBytes + 10 + 3 + 10 + 1;
inline constexpr std::size_t kBlockFixedBytes = 10 + 32 + 8 + 32 + 5 + 32 + 64 + 3;
inline constexpr std::size_t kBlockEntryBytesMax = kEntryWireBytes + 32 + 4;

struct MessageLimits {
  std::size_t budget = 0;          // the largest wire_size() of one message
  std::size_t entries = 0;         // entries in one message (a page, a batch, a push)
  std::size_t nodes_per_list = 0;  // node references in each list of one message
  // Entries in one journal block, so that a block travels in one datagram, whole (a
  // subscription) or filtered with every entry included (catch-up).
  std::size_t block_entries = 0;
};
// REQUIRES: budget >= kMaxDatagramBytesMin - kTransportOverheadBytes.
[[nodiscard]] constexpr MessageLimits message_limits(std::size_t budget) {
  MessageLimits l;
  l.budget = budget;
  l.entries = budget > kEntryPageFixedBytes ? (budget - kEntryPageFixedBytes) / kEntryWireBytes : 0;
  l.nodes_per_list =
      budget > kNodeListFixedBytes ? (budget - kNodeListFixedBytes) / (2 * kNodeRefWireBytes) : 0;
  constexpr std::size_t kBlockFixed = kBlockMessageFixedBytes + kBlockFixedBytes;
  l.block_entries = budget > kBlockFixed ? (budget - kBlockFixed) / kBlockEntryBytesMax : 0;
  return l;
}
// What a receiver accepts, whatever its own sending budget: the limits of the largest
// datagram any peer may be configured to send.
inline constexpr MessageLimits kReceiveLimits =
    message_limits(kMaxDatagramBytesMax - kTransportOverheadBytes);
static_assert(message_limits(kMaxDatagramBytesMin - kTransportOverheadBytes).entries >= 1,
              "the smallest datagram must carry one entry");
static_assert(message_limits(kMaxDatagramBytesMin - kTransportOverheadBytes).block_entries >= 1,
              "the smallest datagram must carry a journal block of one entry");
static_assert(message_limits(kMaxDatagramBytesMin - kTransportOverheadBytes).nodes_per_list >= 4,
              "the smallest datagram must carry successor lists of r = 4");

// Cuts every node list of the body to `per_list` references (lists are best first, so the
// nodes that matter most stay) and a detail string to kDetailBytesMax.
void fit_to_limits(Body& body, const MessageLimits& limits);

}  // namespace kittengrad
