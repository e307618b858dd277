// The largest message of every kind the core sends fits one datagram, at the smallest
// usual budget (1,200 bytes) and the largest allowed (65,000).
//
// Each kind is built at its largest under the core's rules: lists cut or paged by count
// (MessageLimits) are full, every entry, id and counter has its widest encoding (varints
// of 2^64 - 1), every optional field is present, and detail strings are as long as
// fit_to_limits leaves them. Kinds the core packs by bytes (coded symbols, anti-entropy
// and range pages, catch-up blocks and pieces, subscription feeds) add items until the
// budget is used, so their check is that their fixed part plus one widest item fits:
// otherwise a sender could not make progress. `largest` has no generic case: a new
// message kind does not compile until it has one.
//
// Messages actually sent are checked too: every randomized seed (overlay_test) draws
// max_datagram_bytes among 512, 1,200 and 65,000, and Overlay::outgoing() asserts the
// size of each message it sends (counted as oversized_sent, which the checkers require
// to stay zero).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "kittengrad/crypto.h"
#include "kittengrad/overloaded.h"
#include "kittengrad/entry.h"
#include "kittengrad/journal.h"
#include "kittengrad/messages.h"

namespace kittengrad {
namespace {

constexpr std::uint64_t kMax64 = UINT64_MAX;
constexpr std::uint32_t kMax32 = UINT32_MAX;

// An entry of the widest encoding: every field is fixed-size except the namespace, which
// the envelope carries once (entry_wire_size does not depend on it).
Entry widest_entry(int i) {
  static const KeyPair author = keypair_from_u64(11);
  Entry e = make_entry(author, "default", Cid::of_record("canonical " + std::to_string(i)),
                       Cid::of_record("update " + std::to_string(i)), INT64_MAX);
  return e;
}

std::vector<Entry> entries(std::size_t n) {
  std::vector<Entry> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(widest_entry(static_cast<int>(i)));
  return out;
}

NodeRef widest_node(std::size_t i) {
  return NodeRef{RingId::from_u64(kMax64 - i), kMax64};
}

std::vector<NodeRef> nodes(std::size_t n) {
  std::vector<NodeRef> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(widest_node(i));
  return out;
}

const KeyRange kRange{RingId::from_u64(1), RingId::from_u64(kMax64)};

BlockHeader widest_header(std::uint32_t count) {
  BlockHeader h;
  h.height = kMax64;
  h.prev = Hash256{};
  h.timestamp_ms = INT64_MAX;
  h.entry_count = count;
  return h;
}

// The largest instance of the body's kind under `l`. Kinds packed by bytes hold one
// widest item (see the file comment).
Body largest(const Body& kind, const MessageLimits& l) {
  return std::visit(
      Overloaded{
          [](const FindSuccessor&) -> Body { return FindSuccessor{kMax64, RingId::from_u64(kMax64)}; },
          [&](const FindSuccessorReply&) -> Body {
            return FindSuccessorReply{kMax64, true, nodes(l.nodes_per_list)};
          },
          [](const GetNeighbours&) -> Body { return GetNeighbours{kMax64}; },
          [&](const GetNeighboursReply&) -> Body {
            return GetNeighboursReply{kMax64, widest_node(99), nodes(l.nodes_per_list),
                                      nodes(l.nodes_per_list), kMax64};
          },
          [&](const Notify&) -> Body { return Notify{PublicKey{}, nodes(l.nodes_per_list)}; },
          [](const Ping&) -> Body { return Ping{kMax64}; },
          [&](const Pong&) -> Body { return Pong{kMax64, nodes(l.nodes_per_list)}; },
          [&](const LeaveNotice&) -> Body {
            return LeaveNotice{widest_node(99), nodes(l.nodes_per_list), nodes(l.nodes_per_list)};
          },
          [&](const WriteRequest&) -> Body { return WriteRequest{kMax64, entries(l.entries)}; },
          [](const ReadRequest&) -> Body {
            return ReadRequest{kMax64, Cid::of_record("c"), widest_entry(0), kMax32};
          },
          [](const RouteRequest&) -> Body { return RouteRequest{kMax64, RingId::from_u64(kMax64)}; },
          [&](const ClientReply&) -> Body {
            // A lookup page: entries, no redirect. (Redirects and refusals: below.)
            ClientReply r;
            r.req = kMax64;
            r.entries = entries(l.entries);
            r.hops = kMax32;
            r.index = kMax32;
            r.more = true;
            r.page = kMax32;
            r.pages = kMax32;
            return r;
          },
          [&](const Replicate&) -> Body { return Replicate{kMax64, entries(l.entries)}; },
          [](const ReplicateAck&) -> Body { return ReplicateAck{kMax64, ErrorCode::kOverloaded}; },
          [](const ReadReplica&) -> Body {
            return ReadReplica{kMax64, RingId::from_u64(kMax64), widest_entry(0)};
          },
          [&](const ReadReplicaReply&) -> Body {
            return ReadReplicaReply{kMax64, entries(l.entries), true};
          },
          [](const AeDigest&) -> Body {
            return AeDigest{kMax64, kRange, RangeDigest{INT64_MIN, kMax64, kMax64}, kMax64};
          },
          [](const AeInSync&) -> Body { return AeInSync{kMax64, kMax64}; },
          [](const AeSymbols&) -> Body {
            return AeSymbols{kMax64, kRange, kMax64, {CodedSymbol{INT64_MIN, kMax64, kMax64}},
                             INT64_MIN};
          },
          [](const AeMore&) -> Body { return AeMore{kMax64, kRange, kMax64, kMax64}; },
          [](const AeExchange&) -> Body {
            return AeExchange{kMax64, kRange, entries(1), {kMax64}};
          },
          [](const AeEntries&) -> Body { return AeEntries{kMax64, entries(1)}; },
          [](const RangePull&) -> Body {
            return RangePull{kMax64, kRange, RingId::from_u64(kMax64), kMax32};
          },
          [](const RangeEntries&) -> Body {
            return RangeEntries{kMax64, entries(1), RingId::from_u64(kMax64), kMax32};
          },
          [](const CatchUp&) -> Body {
            // A peer asks for its own range: one, or two when it wraps past zero.
            return CatchUp{kMax64, kMax64, {kRange, kRange}, kMax32, kMax32, kMax32};
          },
          [&](const CatchUpReply&) -> Body {
            // A whole block of block_entries entries, every one included (the widest
            // filtered form). Pieces: below.
            FilteredBlock b;
            const auto n = static_cast<std::uint32_t>(l.block_entries);
            b.header = widest_header(n);
            for (std::uint32_t i = 0; i < n; ++i) {
              b.included.push_back(widest_entry(static_cast<int>(i)));
              b.positions.push_back(kMax32);
            }
            CatchUpReply r;
            r.req = kMax64;
            r.blocks.push_back(std::move(b));
            r.head_height = kMax64;
            r.more = true;
            return r;
          },
          [](const Subscribe&) -> Body { return Subscribe{kMax64, kMax64}; },
          [](const Unsubscribe&) -> Body { return Unsubscribe{kMax64}; },
          [&](const JournalBlocks&) -> Body {
            JournalBlock b;
            b.header = widest_header(static_cast<std::uint32_t>(l.block_entries));
            b.entries = entries(l.block_entries);
            return JournalBlocks{kMax64, {b}};
          },
          [&](const JournalLive&) -> Body { return JournalLive{kMax64, entries(l.entries)}; },
          [](const Refused&) -> Body { return Refused{kMax64, ErrorCode::kOverloaded}; },
      },
      kind);
}

// Every alternative of Body, default-constructed, by index.
template <std::size_t... I>
std::vector<Body> every_kind(std::index_sequence<I...>) {
  return {Body{std::in_place_index<I>}...};
}

class MessageLimitsAt : public ::testing::TestWithParam<std::size_t> {};

TEST_P(MessageLimitsAt, LargestOfEveryKindFits) {
  ASSERT_TRUE(crypto_init());
  const std::size_t datagram = GetParam();
  const std::size_t budget = datagram - kTransportOverheadBytes;
  const MessageLimits l = message_limits(budget);
  // A namespace name of any length: the envelope carries its 8-byte id.
  const std::string ns(kNamespaceBytesMax, 'n');
  const std::vector<Body> kinds = every_kind(std::make_index_sequence<kMessageKinds>{});
  ASSERT_EQ(kinds.size(), kMessageKinds);
  for (const Body& kind : kinds) {
    Message m{ns, largest(kind, l)};
    fit_to_limits(m.body, l);  // as Overlay::outgoing does; it must not have to cut much
    const std::size_t size = wire_size(m);
    EXPECT_LE(size, budget) << message_kind(m.body) << " at " << datagram << " bytes";
    EXPECT_LE(size + kTransportOverheadBytes, datagram) << message_kind(m.body);
  }
}

// The ClientReply shapes besides a lookup page: a wrong_peer redirect with its detail,
// and a route answer.
TEST_P(MessageLimitsAt, ClientRepliesWithRedirectsFit) {
  const std::size_t budget = GetParam() - kTransportOverheadBytes;
  const MessageLimits l = message_limits(budget);
  ClientReply r;
  r.req = kMax64;
  r.error = ErrorCode::kWrongPeer;
  r.detail = std::string(kDetailBytesMax * 4, 'd');  // cut by fit_to_limits
  r.redirect = nodes(l.nodes_per_list * 4);            // cut by fit_to_limits
  r.hops = kMax32;
  r.index = kMax32;
  Message m{"default", r};
  fit_to_limits(m.body, l);
  const auto& cut = std::get<ClientReply>(m.body);
  EXPECT_EQ(cut.detail.size(), kDetailBytesMax);
  EXPECT_EQ(cut.redirect.size(), l.nodes_per_list);
  EXPECT_LE(wire_size(m), budget);
}

// A catch-up piece of the widest shape: the header and signature, and then either
// included entries with positions or hashes. Pieces are packed by bytes; one entry and
// one hash beside the header must fit.
TEST_P(MessageLimitsAt, FirstCatchUpPieceHoldsAnEntryAndAHash) {
  ASSERT_TRUE(crypto_init());
  const std::size_t budget = GetParam() - kTransportOverheadBytes;
  BlockPiece p;
  p.height = kMax64;
  p.header = widest_header(kMax32);
  p.first = kMax32 - 2;
  p.count = 2;
  p.positions = {kMax32 - 2};
  p.included = {widest_entry(0)};
  p.hashes = {Hash256{}};
  CatchUpReply r;
  r.req = kMax64;
  r.head_height = kMax64;
  r.more = true;
  r.piece = p;
  EXPECT_LE(wire_size(Message{"default", r}), budget);
}

// The limits leave room: one more item of each count-limited list would not fit, so the
// counts are not needlessly small (a budget wasted is round trips spent).
TEST_P(MessageLimitsAt, CountsUseTheBudget) {
  ASSERT_TRUE(crypto_init());
  const std::size_t budget = GetParam() - kTransportOverheadBytes;
  const MessageLimits l = message_limits(budget);
  const std::size_t one_more = wire_size(Message{"default", Replicate{kMax64, entries(l.entries + 1)}});
  EXPECT_GT(one_more + kEntryWireBytes, budget) << "Replicate pages could hold two more entries";
}

INSTANTIATE_TEST_SUITE_P(Datagrams, MessageLimitsAt, ::testing::Values(1200u, 65000u, 512u),
                         [](const auto& info) { return std::to_string(info.param) + "B"; });

}  // namespace
}  // namespace kittengrad
