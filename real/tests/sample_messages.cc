// sample_messages.cc — see sample_messages.h.
#include "sample_messages.h"
#include "kittengrad/overloaded.h"

#include <utility>
#include <vector>

namespace kittengrad::codec_samples {

namespace {

constexpr std::uint64_t kMax64 = UINT64_MAX;
constexpr std::uint32_t kMax32 = UINT32_MAX;
constexpr std::uint64_t kAddressMax = (std::uint64_t{1} << 48) - 1;

template <typename Body, std::size_t... I>
Body body_of_kind(std::size_t kind, std::index_sequence<I...>) {
  Body b;
  ((kind == I ? (b = Body{std::in_place_index<I>}, 0) : 0), ...);
  return b;
}
Body empty_body(std::size_t kind) {
  return body_of_kind<Body>(kind, std::make_index_sequence<kMessageKinds>{});
}

// ---- Random contents ----

class Gen {
 public:
  Gen(Rng& rng, std::string ns) : rng_(rng), ns_(std::move(ns)) {}

  // A value of a random varint width, the extremes included.
  std::uint64_t u64() {
    switch (rng_.below(8)) {
      case 0: return 0;
      case 1: return kMax64;
      default: return rng_.next_u64() >> rng_.below(64);
    }
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u64() >> 32); }
  std::int64_t i64() { return static_cast<std::int64_t>(u64() ^ (rng_.chance(0.5) ? kMax64 : 0)); }
  bool flag() { return rng_.chance(0.5); }
  std::size_t count(std::size_t max = 4) { return rng_.below(max + 1); }
  ErrorCode error() {
    return static_cast<ErrorCode>(rng_.below(static_cast<std::uint64_t>(ErrorCode::kLeaving) + 1));
  }
  template <std::size_t N>
  std::array<std::uint8_t, N> bytes() {
    std::array<std::uint8_t, N> a{};
    for (auto& b : a) b = static_cast<std::uint8_t>(rng_.next_u64());
    return a;
  }
  RingId ring() { return RingId{bytes<32>()}; }
  NodeRef node() { return NodeRef{ring(), u64() & kAddressMax}; }
  std::vector<NodeRef> nodes() {
    std::vector<NodeRef> v(count());
    for (auto& n : v) n = node();
    return v;
  }
  KeyRange range() { return KeyRange{ring(), ring()}; }
  Entry entry() {
    Entry e;
    e.ns = ns_;
    e.canonical.bytes = bytes<Cid::kSize>();
    e.timestamp_ms = i64();
    e.update.bytes = bytes<Cid::kSize>();
    e.author = bytes<32>();
    e.signature = bytes<64>();
    return e;
  }
  std::vector<Entry> entries() {
    std::vector<Entry> v(count());
    for (auto& e : v) e = entry();
    return v;
  }
  std::optional<Entry> cursor() { return flag() ? std::optional<Entry>(entry()) : std::nullopt; }
  std::optional<RingId> maybe_ring() { return flag() ? std::optional<RingId>(ring()) : std::nullopt; }
  CodedSymbol symbol() { return CodedSymbol{i64(), u64(), u64()}; }
  BlockHeader header(std::uint32_t entry_count) {
    return BlockHeader{u64(), bytes<32>(), i64(), bytes<32>(), entry_count, bytes<32>()};
  }
  JournalBlock block() {
    JournalBlock b;
    b.header = header(static_cast<std::uint32_t>(count(3)));
    for (std::uint32_t i = 0; i < b.header.entry_count; ++i) b.entries.push_back(entry());
    b.signature = bytes<64>();
    return b;
  }
  FilteredBlock filtered() {
    FilteredBlock b;
    b.header = header(static_cast<std::uint32_t>(count(6)));
    b.signature = bytes<64>();
    for (std::uint32_t i = 0; i < b.header.entry_count; ++i) b.entry_hashes.push_back(bytes<32>());
    for (std::size_t i = count(3); i > 0; --i) {
      b.positions.push_back(u32());
      b.included.push_back(entry());
    }
    return b;
  }
  BlockPiece piece() {
    BlockPiece p;
    p.height = u64();
    if (flag()) {
      p.header = header(u32());
      p.signature = bytes<64>();
    }
    p.first = u32();
    p.count = u32();
    std::uint32_t pos = p.first;
    for (std::size_t i = count(3); i > 0; --i) {
      // Increasing positions from `first`, never past 2^32 - 1.
      const std::uint32_t room = kMax32 - pos;
      pos += room == 0 ? 0 : static_cast<std::uint32_t>(rng_.below(std::min<std::uint64_t>(room, 300) + 1));
      p.positions.push_back(pos);
      p.included.push_back(entry());
    }
    for (std::size_t i = count(); i > 0; --i) p.hashes.push_back(bytes<32>());
    return p;
  }
  std::string detail() {
    std::string s(count(kDetailBytesMax), ' ');
    for (char& c : s) c = static_cast<char>(rng_.below(256));
    return s;
  }

 private:
  Rng& rng_;
  std::string ns_;
};

Body random_body(const Body& kind, Gen& g) {
  return std::visit(
      Overloaded{
          [&](const FindSuccessor&) -> Body { return FindSuccessor{g.u64(), g.ring()}; },
          [&](const FindSuccessorReply&) -> Body {
            return FindSuccessorReply{g.u64(), g.flag(), g.nodes()};
          },
          [&](const GetNeighbours&) -> Body { return GetNeighbours{g.u64()}; },
          [&](const GetNeighboursReply&) -> Body {
            GetNeighboursReply r{g.u64(), std::nullopt, g.nodes(), g.nodes(), g.u64()};
            if (g.flag()) r.predecessor = g.node();
            return r;
          },
          [&](const Notify&) -> Body { return Notify{g.bytes<32>(), g.nodes()}; },
          [&](const Ping&) -> Body { return Ping{g.u64()}; },
          [&](const Pong&) -> Body { return Pong{g.u64(), g.nodes()}; },
          [&](const LeaveNotice&) -> Body { return LeaveNotice{g.node(), g.nodes(), g.nodes()}; },
          [&](const WriteRequest&) -> Body { return WriteRequest{g.u64(), g.entries()}; },
          [&](const ReadRequest&) -> Body {
            return ReadRequest{g.u64(), Cid{g.bytes<Cid::kSize>()}, g.cursor(), g.u32()};
          },
          [&](const RouteRequest&) -> Body { return RouteRequest{g.u64(), g.ring()}; },
          [&](const ClientReply&) -> Body {
            return ClientReply{g.u64(), g.error(),  g.detail(), g.nodes(),
                               g.entries(), g.u32(), g.u32(),    g.flag(), g.u32(), g.u32()};
          },
          [&](const Replicate&) -> Body { return Replicate{g.u64(), g.entries()}; },
          [&](const ReplicateAck&) -> Body { return ReplicateAck{g.u64(), g.error()}; },
          [&](const ReadReplica&) -> Body { return ReadReplica{g.u64(), g.ring(), g.cursor()}; },
          [&](const ReadReplicaReply&) -> Body {
            return ReadReplicaReply{g.u64(), g.entries(), g.flag()};
          },
          [&](const AeDigest&) -> Body { return AeDigest{g.u64(), g.range(), g.symbol(), g.u64()}; },
          [&](const AeInSync&) -> Body { return AeInSync{g.u64(), g.u64()}; },
          [&](const AeSymbols&) -> Body {
            AeSymbols s{g.u64(), g.range(), g.u64(), {}, g.i64()};
            for (std::size_t i = g.count(); i > 0; --i) s.symbols.push_back(g.symbol());
            return s;
          },
          [&](const AeMore&) -> Body { return AeMore{g.u64(), g.range(), g.u64(), g.u64()}; },
          [&](const AeExchange&) -> Body {
            AeExchange x{g.u64(), g.range(), g.entries(), {}};
            for (std::size_t i = g.count(); i > 0; --i) x.want.push_back(g.u64());
            return x;
          },
          [&](const AeEntries&) -> Body { return AeEntries{g.u64(), g.entries()}; },
          [&](const RangePull&) -> Body {
            return RangePull{g.u64(), g.range(), g.maybe_ring(), g.u32()};
          },
          [&](const RangeEntries&) -> Body {
            return RangeEntries{g.u64(), g.entries(), g.maybe_ring(), g.u32()};
          },
          [&](const CatchUp&) -> Body {
            CatchUp c{g.u64(), g.u64(), {}, g.u32(), g.u32(), g.u32()};
            for (std::size_t i = g.count(2); i > 0; --i) c.ranges.push_back(g.range());
            return c;
          },
          [&](const CatchUpReply&) -> Body {
            CatchUpReply r{g.u64(), {}, g.u64(), g.flag(), std::nullopt};
            for (std::size_t i = g.count(2); i > 0; --i) r.blocks.push_back(g.filtered());
            if (g.flag()) r.piece = g.piece();
            return r;
          },
          [&](const Subscribe&) -> Body { return Subscribe{g.u64(), g.u64()}; },
          [&](const Unsubscribe&) -> Body { return Unsubscribe{g.u64()}; },
          [&](const JournalBlocks&) -> Body {
            JournalBlocks j{g.u64(), {}};
            for (std::size_t i = g.count(2); i > 0; --i) j.blocks.push_back(g.block());
            return j;
          },
          [&](const JournalLive&) -> Body { return JournalLive{g.u64(), g.entries()}; },
          [&](const Refused&) -> Body { return Refused{g.u64(), g.error()}; },
      },
      kind);
}

// ---- Largest instances ----

Entry widest_entry(const std::string& ns, std::uint64_t i) {
  Entry e;
  e.ns = ns;
  e.canonical.bytes.fill(static_cast<std::uint8_t>(i));
  e.timestamp_ms = INT64_MIN;
  e.update.bytes.fill(0xff);
  e.author.fill(0xaa);
  e.signature.fill(0x55);
  return e;
}
std::vector<Entry> widest_entries(const std::string& ns, std::size_t n) {
  std::vector<Entry> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(widest_entry(ns, i));
  return v;
}
NodeRef widest_node(std::size_t i) { return NodeRef{RingId::from_u64(kMax64 - i), kAddressMax}; }
std::vector<NodeRef> widest_nodes(std::size_t n) {
  std::vector<NodeRef> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(widest_node(i));
  return v;
}
const KeyRange kRange{RingId::from_u64(1), RingId::from_u64(kMax64)};
BlockHeader widest_header(std::uint32_t count) {
  BlockHeader h;
  h.height = kMax64;
  h.timestamp_ms = INT64_MAX;
  h.entry_count = count;
  return h;
}

// Adds items to a message while it fits the budget: the kinds the core packs by bytes.
template <typename Add>
Message pack(Message m, std::size_t budget, Add add) {
  for (;;) {
    Message next = m;
    add(next);
    if (wire_size(next) > budget) return m;
    m = std::move(next);
  }
}

Message largest(const Body& kind, const std::string& ns, std::size_t budget) {
  const MessageLimits l = message_limits(budget);
  const auto n32 = [](std::size_t n) { return static_cast<std::uint32_t>(n); };
  Body b = std::visit(
      Overloaded{
          [](const FindSuccessor&) -> Body { return FindSuccessor{kMax64, RingId::from_u64(kMax64)}; },
          [&](const FindSuccessorReply&) -> Body {
            return FindSuccessorReply{kMax64, true, widest_nodes(l.nodes_per_list)};
          },
          [](const GetNeighbours&) -> Body { return GetNeighbours{kMax64}; },
          [&](const GetNeighboursReply&) -> Body {
            return GetNeighboursReply{kMax64, widest_node(99), widest_nodes(l.nodes_per_list),
                                      widest_nodes(l.nodes_per_list), kMax64};
          },
          [&](const Notify&) -> Body { return Notify{PublicKey{}, widest_nodes(l.nodes_per_list)}; },
          [](const Ping&) -> Body { return Ping{kMax64}; },
          [&](const Pong&) -> Body { return Pong{kMax64, widest_nodes(l.nodes_per_list)}; },
          [&](const LeaveNotice&) -> Body {
            return LeaveNotice{widest_node(99), widest_nodes(l.nodes_per_list),
                               widest_nodes(l.nodes_per_list)};
          },
          [&](const WriteRequest&) -> Body { return WriteRequest{kMax64, widest_entries(ns, l.entries)}; },
          [&](const ReadRequest&) -> Body {
            return ReadRequest{kMax64, Cid::of_record("c"), widest_entry(ns, 0), kMax32};
          },
          [](const RouteRequest&) -> Body { return RouteRequest{kMax64, RingId::from_u64(kMax64)}; },
          [&](const ClientReply&) -> Body {
            // A wrong_peer redirect with its longest detail, and a lookup page.
            return ClientReply{kMax64, ErrorCode::kWrongPeer, std::string(kDetailBytesMax, 'd'),
                               widest_nodes(l.nodes_per_list), {}, kMax32, kMax32, true, kMax32, kMax32};
          },
          [&](const Replicate&) -> Body { return Replicate{kMax64, widest_entries(ns, l.entries)}; },
          [](const ReplicateAck&) -> Body { return ReplicateAck{kMax64, ErrorCode::kLeaving}; },
          [&](const ReadReplica&) -> Body {
            return ReadReplica{kMax64, RingId::from_u64(kMax64), widest_entry(ns, 0)};
          },
          [&](const ReadReplicaReply&) -> Body {
            return ReadReplicaReply{kMax64, widest_entries(ns, l.entries), true};
          },
          [](const AeDigest&) -> Body {
            return AeDigest{kMax64, kRange, RangeDigest{INT64_MIN, kMax64, kMax64}, kMax64};
          },
          [](const AeInSync&) -> Body { return AeInSync{kMax64, kMax64}; },
          [](const AeSymbols&) -> Body { return AeSymbols{kMax64, kRange, kMax64, {}, INT64_MIN}; },
          [](const AeMore&) -> Body { return AeMore{kMax64, kRange, kMax64, kMax64}; },
          [](const AeExchange&) -> Body { return AeExchange{kMax64, kRange, {}, {}}; },
          [](const AeEntries&) -> Body { return AeEntries{kMax64, {}}; },
          [](const RangePull&) -> Body {
            return RangePull{kMax64, kRange, RingId::from_u64(kMax64), kMax32};
          },
          [](const RangeEntries&) -> Body {
            return RangeEntries{kMax64, {}, RingId::from_u64(kMax64), kMax32};
          },
          [](const CatchUp&) -> Body {
            return CatchUp{kMax64, kMax64, {kRange, kRange}, kMax32, kMax32, kMax32};
          },
          [&](const CatchUpReply&) -> Body {
            // A whole block of block_entries entries, every one included.
            FilteredBlock f;
            f.header = widest_header(n32(l.block_entries));
            f.entry_hashes.assign(l.block_entries, Hash256{});
            f.included = widest_entries(ns, l.block_entries);
            f.positions.assign(l.block_entries, kMax32);
            return CatchUpReply{kMax64, {f}, kMax64, true, std::nullopt};
          },
          [](const Subscribe&) -> Body { return Subscribe{kMax64, kMax64}; },
          [](const Unsubscribe&) -> Body { return Unsubscribe{kMax64}; },
          [&](const JournalBlocks&) -> Body {
            JournalBlock j{widest_header(n32(l.block_entries)), widest_entries(ns, l.block_entries), {}};
            return JournalBlocks{kMax64, {j}};
          },
          [&](const JournalLive&) -> Body { return JournalLive{kMax64, widest_entries(ns, l.entries)}; },
          [](const Refused&) -> Body { return Refused{kMax64, ErrorCode::kLeaving}; },
      },
      kind);
  Message m{ns, std::move(b)};
  // Kinds packed by bytes: fill them.
  std::size_t i = 0;
  std::visit(Overloaded{
                 [&](AeSymbols&) {
                   m = pack(m, budget, [](Message& x) {
                     std::get<AeSymbols>(x.body).symbols.push_back({INT64_MIN, kMax64, kMax64});
                   });
                 },
                 [&](AeExchange&) {
                   m = pack(m, budget, [&](Message& x) {
                     auto& e = std::get<AeExchange>(x.body);
                     if (i++ % 2) e.want.push_back(kMax64);
                     else e.entries.push_back(widest_entry(ns, i));
                   });
                 },
                 [&](AeEntries&) {
                   m = pack(m, budget, [&](Message& x) {
                     std::get<AeEntries>(x.body).entries.push_back(widest_entry(ns, i++));
                   });
                 },
                 [&](RangeEntries&) {
                   m = pack(m, budget, [&](Message& x) {
                     std::get<RangeEntries>(x.body).entries.push_back(widest_entry(ns, i++));
                   });
                 },
                 [](auto&) {},
             },
             m.body);
  return m;
}

}  // namespace

Message random_message(std::size_t kind, const std::string& ns, Rng& rng) {
  Gen g(rng, ns);
  return Message{ns, random_body(empty_body(kind), g)};
}

Message largest_message(std::size_t kind, const std::string& ns, std::size_t budget) {
  return largest(empty_body(kind), ns, budget);
}

}  // namespace kittengrad::codec_samples
