// Message kinds and their wire sizes. Sizes follow the encoding the live codec uses:
// one byte of kind, the namespace's 8-byte id, then the fields in order with
// LEB128 varints for ids and counts, fixed sizes for ids, keys, hashes and signatures.
#include "kittengrad/messages.h"

#include <algorithm>
#include <array>

#include "wire_util.h"

namespace kittengrad {

namespace {

using detail::Overloaded;
constexpr std::size_t varint(std::uint64_t v) { return detail::varint_size(v); }

std::size_t node(const NodeRef& n) { return 32 + address_wire_bytes(n.addr); }
constexpr std::size_t kRangeBytes = 64;

std::size_t nodes(const std::vector<NodeRef>& v) {
  std::size_t n = varint(v.size());
  for (const NodeRef& r : v) n += node(r);
  return n;
}

std::size_t entries(const std::vector<Entry>& v) {
  std::size_t n = varint(v.size());
  for (const Entry& e : v) n += entry_wire_size(e);
  return n;
}

std::size_t cursor(const std::optional<Entry>& e) { return 1 + (e ? entry_wire_size(*e) : 0); }

std::size_t symbols(const std::vector<CodedSymbol>& v) {
  std::size_t n = varint(v.size());
  for (const CodedSymbol& s : v) n += coded_symbol_wire_size(s);
  return n;
}

// Header and signature of a block, as a filtered block carries them.
std::size_t header_and_signature(const BlockHeader& h) {
  FilteredBlock bare;
  bare.header = h;
  return filtered_block_wire_size(bare) - varint(0);  // less its empty included count
}

std::size_t piece(const BlockPiece& p) {
  std::size_t n = varint(p.height) + 1 + varint(p.first) + varint(p.count);
  if (p.header) n += header_and_signature(*p.header);
  n += varint(p.included.size());
  for (std::size_t i = 0; i < p.included.size(); ++i) {
    // Positions travel as offsets from `first`: a byte or two each.
    const std::uint32_t pos = i < p.positions.size() ? p.positions[i] : p.first;
    n += varint(pos - p.first) + entry_wire_size(p.included[i]);
  }
  return n + varint(p.hashes.size()) + 32 * p.hashes.size();
}

std::size_t body_size(const Body& body) {
  return std::visit(
      Overloaded{
          [](const FindSuccessor& m) { return varint(m.req) + 32; },
          [](const FindSuccessorReply& m) { return varint(m.req) + 1 + nodes(m.nodes); },
          [](const GetNeighbours& m) { return varint(m.req); },
          [](const GetNeighboursReply& m) {
            return varint(m.req) + 1 + (m.predecessor ? node(*m.predecessor) : 0) +
                   nodes(m.successors) + nodes(m.predecessors) + varint(m.journal_height);
          },
          [](const Notify& m) { return 32 + nodes(m.predecessors); },
          [](const Ping& m) { return varint(m.req); },
          [](const Pong& m) { return varint(m.req) + nodes(m.predecessors); },
          [](const LeaveNotice& m) {
            return node(m.leaving) + nodes(m.successors) + nodes(m.predecessors);
          },
          [](const WriteRequest& m) { return varint(m.req) + entries(m.entries); },
          [](const ReadRequest& m) {
            return varint(m.req) + Cid::kSize + cursor(m.after) + varint(m.pages);
          },
          [](const RouteRequest& m) { return varint(m.req) + 32; },
          [](const ClientReply& m) {
            return varint(m.req) + 1 + varint(m.detail.size()) + m.detail.size() +
                   nodes(m.redirect) + entries(m.entries) + varint(m.hops) + varint(m.index) +
                   1 + varint(m.page) + varint(m.pages);
          },
          [](const Replicate& m) { return varint(m.req) + entries(m.entries); },
          [](const ReplicateAck& m) { return varint(m.req) + 1; },
          [](const ReadReplica& m) { return varint(m.req) + 32 + cursor(m.after); },
          [](const ReadReplicaReply& m) { return varint(m.req) + entries(m.entries) + 1; },
          [](const AeDigest& m) {
            return varint(m.session) + kRangeBytes + coded_symbol_wire_size(m.digest) +
                   varint(m.journal_height);
          },
          [](const AeInSync& m) { return varint(m.session) + varint(m.journal_height); },
          [](const AeSymbols& m) {
            return varint(m.session) + kRangeBytes + varint(m.from) + symbols(m.symbols) +
                   varint(detail::zigzag(m.count));
          },
          [](const AeMore& m) {
            return varint(m.session) + kRangeBytes + varint(m.from) + varint(m.to);
          },
          [](const AeExchange& m) {
            return varint(m.session) + kRangeBytes + entries(m.entries) + varint(m.want.size()) +
                   8 * m.want.size();
          },
          [](const AeEntries& m) { return varint(m.session) + entries(m.entries); },
          [](const RangePull& m) {
            return varint(m.req) + kRangeBytes + 1 + (m.after ? 32 : 0) + varint(m.skip);
          },
          [](const RangeEntries& m) {
            return varint(m.req) + entries(m.entries) + 1 + (m.next ? 32 : 0) +
                   varint(m.next_skip);
          },
          [](const CatchUp& m) {
            return varint(m.req) + varint(m.since_height) + varint(m.ranges.size()) +
                   kRangeBytes * m.ranges.size() + varint(m.from_entry) + varint(m.to_entry) +
                   varint(m.max_bytes);
          },
          [](const CatchUpReply& m) {
            std::size_t n = varint(m.req) + varint(m.blocks.size()) + varint(m.head_height) + 1;
            for (const FilteredBlock& b : m.blocks) n += filtered_block_wire_size(b);
            return n + 1 + (m.piece ? piece(*m.piece) : 0);
          },
          [](const Subscribe& m) { return varint(m.sub) + varint(m.from_height); },
          [](const Unsubscribe& m) { return varint(m.sub); },
          [](const JournalBlocks& m) {
            std::size_t n = varint(m.sub) + varint(m.blocks.size());
            for (const JournalBlock& b : m.blocks) n += block_wire_size(b);
            return n;
          },
          [](const JournalLive& m) { return varint(m.sub) + entries(m.entries); },
          [](const Refused& m) { return varint(m.req) + 1; },
      },
      body);
}

constexpr std::array<const char*, kMessageKinds> kKindNames = {
    "find_successor", "find_successor_reply", "get_neighbours", "get_neighbours_reply",
    "notify",         "ping",                 "pong",           "leave_notice",
    "write",          "read",                 "route",          "client_reply",
    "replicate",      "replicate_ack",        "read_replica",   "read_replica_reply",
    "ae_digest",      "ae_in_sync",           "ae_symbols",     "ae_more",
    "ae_exchange",    "ae_entries",           "range_pull",     "range_entries",
    "catch_up",       "catch_up_reply",       "subscribe",      "unsubscribe",
    "journal_blocks", "journal_live",         "refused"};

}  // namespace

void fit_to_limits(Body& body, const MessageLimits& limits) {
  std::vector<std::vector<NodeRef>*> lists;
  auto cut = [&](std::vector<NodeRef>& v) {
    if (v.size() > limits.nodes_per_list) v.resize(limits.nodes_per_list);
    lists.push_back(&v);
  };
  std::visit(Overloaded{
                 [&](FindSuccessorReply& m) { cut(m.nodes); },
                 [&](GetNeighboursReply& m) {
                   cut(m.successors);
                   cut(m.predecessors);
                 },
                 [&](Notify& m) { cut(m.predecessors); },
                 [&](Pong& m) { cut(m.predecessors); },
                 [&](LeaveNotice& m) {
                   cut(m.successors);
                   cut(m.predecessors);
                 },
                 [&](ClientReply& m) {
                   cut(m.redirect);
                   if (m.detail.size() > kDetailBytesMax) m.detail.resize(kDetailBytesMax);
                 },
                 [](auto&) {},
             },
             body);
  // Lists are counted for IPv4 nodes (kNodeRefWireBytes); an IPv6 node is 12 bytes longer,
  // so a list of them may still not fit: the longest list loses its last (least useful)
  // nodes until the message fits.
  while (!lists.empty() && kEnvelopeBytes + body_size(body) > limits.budget) {
    std::vector<NodeRef>* longest = *std::max_element(
        lists.begin(), lists.end(), [](const auto* a, const auto* b) { return a->size() < b->size(); });
    if (longest->empty()) break;
    longest->pop_back();
  }
}

std::size_t message_kind_index(const Body& b) { return b.index(); }
const char* message_kind_name(std::size_t index) {
  return index < kKindNames.size() ? kKindNames[index] : "unknown";
}
const char* message_kind(const Body& b) { return message_kind_name(b.index()); }

std::size_t wire_size(const Message& m) { return kEnvelopeBytes + body_size(m.body); }

}  // namespace kittengrad
