// The wire codec: every kind round-trips with random contents and at its largest, its
// size is exactly wire_size(), and malformed input of every sort is refused with an error
// naming what was wrong.
//
// Randomized cases print the seed that reproduces them:
//   KG_SEED=S ./build/real/codec_test    run seed S only
//   KG_SEEDS=N                            run seeds 1..N (default 40)
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/overloaded.h"
#include "kittengrad/real/address_book.h"
#include "kittengrad/real/codec.h"
#include "message_equal.h"
#include "sample_messages.h"

namespace kittengrad {
namespace {

using codec::decode;
using codec::encode;
using codec_samples::largest_message;
using codec_samples::random_message;

const std::string kNs = "default";

std::vector<std::uint64_t> seeds() {
  if (const char* s = std::getenv("KG_SEED")) return {std::strtoull(s, nullptr, 10)};
  std::uint64_t n = 40;
  if (const char* s = std::getenv("KG_SEEDS")) n = std::strtoull(s, nullptr, 10);
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

std::string repro(std::uint64_t seed) {
  return "seed " + std::to_string(seed) + " (KG_SEED=" + std::to_string(seed) +
         " ./build/real/codec_test)";
}

codec::NamespaceTable served() {
  EXPECT_TRUE(crypto_init());
  codec::NamespaceTable t;
  EXPECT_TRUE(t.add(kNs).ok());
  EXPECT_TRUE(t.add("other").ok());
  return t;
}

// A datagram of the given kind byte, the id of kNs, then `body`.
std::vector<std::uint8_t> datagram(std::uint8_t kind_byte, std::vector<std::uint8_t> body) {
  std::vector<std::uint8_t> v{kind_byte};
  const codec::NamespaceId id = codec::namespace_id(kNs);
  v.insert(v.end(), id.begin(), id.end());
  v.insert(v.end(), body.begin(), body.end());
  return v;
}
constexpr std::uint8_t kind_byte(std::size_t kind) {
  return static_cast<std::uint8_t>(codec::kWireVersion << codec::kVersionShift | kind);
}
template <typename T>
constexpr std::size_t kind_of() {
  return Body{T{}}.index();
}

// Decodes bytes that must be refused as malformed; returns the error detail.
std::string refused(const std::vector<std::uint8_t>& bytes, const codec::NamespaceTable& t) {
  Result<Message> r = decode(bytes, t);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "(accepted)";
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest) << r.error().detail;
  return r.error().detail;
}

// ---- Round trips and sizes ----

TEST(Codec, EveryKindRoundTripsWithRandomContents) {
  const auto t = served();
  for (std::uint64_t seed : seeds()) {
    Rng rng(seed);
    for (std::size_t kind = 0; kind < kMessageKinds; ++kind) {
      for (int i = 0; i < 20; ++i) {
        const Message m = random_message(kind, i % 2 ? kNs : "other", rng);
        const std::vector<std::uint8_t> bytes = encode(m);
        ASSERT_EQ(bytes.size(), wire_size(m)) << message_kind_name(kind) << ", " << repro(seed);
        Result<Message> back = decode(bytes, t);
        ASSERT_TRUE(back.ok()) << message_kind_name(kind) << ": " << back.error().detail << ", "
                               << repro(seed);
        ASSERT_TRUE(codec_samples::same_message(*back, m)) << message_kind_name(kind) << ", " << repro(seed);
        ASSERT_EQ(encode(*back), bytes) << message_kind_name(kind) << ", " << repro(seed);
      }
    }
  }
}

// The equality the round trip relies on sees a change in any field of the samples: a
// round trip that lost a field would not pass for equal.
TEST(Codec, EqualityNoticesAChangedByte) {
  const auto t = served();
  Rng rng(7);
  for (std::size_t kind = 0; kind < kMessageKinds; ++kind) {
    const Message m = random_message(kind, kNs, rng);
    const std::vector<std::uint8_t> bytes = encode(m);
    // Past the envelope, flipping the low bit of any byte that still decodes must give a
    // message that compares unequal.
    for (std::size_t i = kEnvelopeBytes; i < bytes.size(); ++i) {
      std::vector<std::uint8_t> changed = bytes;
      changed[i] ^= 1;
      Result<Message> other = decode(changed, t);
      if (other.ok()) {
        EXPECT_FALSE(codec_samples::same_message(*other, m)) << message_kind_name(kind) << " byte " << i;
      }
    }
  }
}

class CodecLargest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(CodecLargest, EveryKindAtItsLargestIsWireSizeAndRoundTrips) {
  const auto t = served();
  const std::size_t budget = GetParam() - kTransportOverheadBytes;
  for (std::size_t kind = 0; kind < kMessageKinds; ++kind) {
    const Message m = largest_message(kind, kNs, budget);
    const std::vector<std::uint8_t> bytes = encode(m);
    EXPECT_EQ(bytes.size(), wire_size(m)) << message_kind_name(kind);
    EXPECT_LE(bytes.size(), budget) << message_kind_name(kind);
    Result<Message> back = decode(bytes, t);
    ASSERT_TRUE(back.ok()) << message_kind_name(kind) << ": " << back.error().detail;
    EXPECT_TRUE(codec_samples::same_message(*back, m)) << message_kind_name(kind);
  }
}

// The first piece of a block too large for a datagram, at its widest: the header and
// signature, an entry at the far end of the 32-bit positions and a hash.
TEST_P(CodecLargest, WidestCatchUpPieceRoundTrips) {
  const auto t = served();
  const std::size_t budget = GetParam() - kTransportOverheadBytes;
  BlockPiece p;
  p.height = UINT64_MAX;
  p.header = BlockHeader{UINT64_MAX, {}, INT64_MIN, {}, UINT32_MAX, {}};
  p.signature.fill(9);
  p.first = UINT32_MAX - 2;
  p.count = 2;
  p.positions = {UINT32_MAX};
  p.included = {Entry{}};
  p.included[0].ns = kNs;
  p.hashes = {Hash256{}};
  const Message m{kNs, CatchUpReply{UINT64_MAX, {}, UINT64_MAX, true, p}};
  const std::vector<std::uint8_t> bytes = encode(m);
  EXPECT_EQ(bytes.size(), wire_size(m));
  EXPECT_LE(bytes.size(), budget);
  Result<Message> back = decode(bytes, t);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_TRUE(codec_samples::same_message(*back, m));
}

INSTANTIATE_TEST_SUITE_P(Datagrams, CodecLargest, ::testing::Values(512u, 1200u, 65000u),
                         [](const auto& info) { return std::to_string(info.param) + "B"; });

// The kind byte is the wire's numbering of kinds: reordering Body would silently change
// it, so it is pinned here.
TEST(Codec, KindNumbersArePinned) {
  const std::vector<std::string> wire_order = {
      "find_successor", "find_successor_reply", "get_neighbours", "get_neighbours_reply",
      "notify",         "ping",                 "pong",           "leave_notice",
      "write",          "read",                 "route",          "client_reply",
      "replicate",      "replicate_ack",        "read_replica",   "read_replica_reply",
      "ae_digest",      "ae_in_sync",           "ae_symbols",     "ae_more",
      "ae_exchange",    "ae_entries",           "range_pull",     "range_entries",
      "catch_up",       "catch_up_reply",       "subscribe",      "unsubscribe",
      "journal_blocks", "journal_live",         "refused"};
  ASSERT_EQ(wire_order.size(), kMessageKinds);
  Rng rng(1);
  for (std::size_t kind = 0; kind < kMessageKinds; ++kind) {
    const Message m = random_message(kind, kNs, rng);
    EXPECT_EQ(message_kind(m.body), wire_order[kind]);
    EXPECT_EQ(encode(m)[0], 0x40 | kind) << wire_order[kind];
  }
}

TEST(Codec, EntriesTakeTheEnvelopesNamespace) {
  const auto t = served();
  Rng rng(3);
  Message m = random_message(kind_of<Replicate>(), "other", rng);
  auto& r = std::get<Replicate>(m.body);
  r.entries = {Entry{}};
  r.entries[0].ns = "something else";  // does not travel
  Result<Message> back = decode(encode(m), t);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(back->ns, "other");
  EXPECT_EQ(std::get<Replicate>(back->body).entries.at(0).ns, "other");
}

// ---- Malformed input ----

TEST(Codec, EveryTruncationIsRefused) {
  const auto t = served();
  for (std::uint64_t seed : seeds()) {
    Rng rng(seed);
    for (std::size_t kind = 0; kind < kMessageKinds; ++kind) {
      const std::vector<std::uint8_t> bytes = encode(random_message(kind, kNs, rng));
      for (std::size_t n = 0; n < bytes.size(); ++n) {
        Result<Message> r = decode(std::span(bytes).first(n), t);
        ASSERT_FALSE(r.ok()) << message_kind_name(kind) << " cut to " << n << " of "
                             << bytes.size() << " bytes, " << repro(seed);
        ASSERT_EQ(r.error().code, ErrorCode::kBadRequest) << r.error().detail;
      }
    }
  }
}

TEST(Codec, TrailingBytesAreRefused) {
  const auto t = served();
  Rng rng(5);
  for (std::size_t kind = 0; kind < kMessageKinds; ++kind) {
    std::vector<std::uint8_t> bytes = encode(random_message(kind, kNs, rng));
    bytes.push_back(0);
    EXPECT_NE(refused(bytes, t).find("trailing"), std::string::npos) << message_kind_name(kind);
  }
}

TEST(Codec, EmptyAndOversizedDatagramsAreRefused) {
  const auto t = served();
  EXPECT_NE(refused({}, t).find("empty"), std::string::npos);
  // A valid Ping padded past the largest payload: refused for its size alone.
  std::vector<std::uint8_t> big = datagram(kind_byte(kind_of<Ping>()), {1});
  big.resize(codec::kPayloadBytesMax + 1);
  EXPECT_NE(refused(big, t).find("more than"), std::string::npos);
}

TEST(Codec, UnknownVersionsAndKindsAreRefused) {
  const auto t = served();
  for (std::uint8_t version : {0, 2, 3}) {
    const std::uint8_t b = static_cast<std::uint8_t>(version << codec::kVersionShift | kind_of<Ping>());
    EXPECT_NE(refused(datagram(b, {1}), t).find("protocol version"), std::string::npos);
  }
  for (std::size_t kind = kMessageKinds; kind <= codec::kKindMask; ++kind) {
    EXPECT_NE(refused(datagram(kind_byte(kind), {1}), t).find("unknown message kind"),
              std::string::npos)
        << kind;
  }
  // And the valid byte is accepted: the refusals above are for the version or kind only.
  EXPECT_TRUE(decode(datagram(kind_byte(kind_of<Ping>()), {1}), t).ok());
}

TEST(Codec, BadVarintsAreRefused) {
  const auto t = served();
  const std::uint8_t ping = kind_byte(kind_of<Ping>());
  EXPECT_NE(refused(datagram(ping, {0x80, 0x00}), t).find("req: overlong varint"), std::string::npos);
  EXPECT_NE(refused(datagram(ping, {0x81, 0x80, 0x00}), t).find("overlong"), std::string::npos);
  std::vector<std::uint8_t> eleven(10, 0xff);
  eleven.push_back(0x01);
  EXPECT_NE(refused(datagram(ping, eleven), t).find("longer than 10 bytes"), std::string::npos);
  std::vector<std::uint8_t> over(9, 0xff);
  over.push_back(0x02);  // bit 64
  EXPECT_NE(refused(datagram(ping, over), t).find("overflows 64 bits"), std::string::npos);
  EXPECT_NE(refused(datagram(ping, {0x80}), t).find("truncated"), std::string::npos);
  // The widest valid varint, 2^64 - 1, is accepted.
  std::vector<std::uint8_t> widest(9, 0xff);
  widest.push_back(0x01);
  Result<Message> r = decode(datagram(ping, widest), t);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(std::get<Ping>(r->body).req, UINT64_MAX);
  // A 32-bit field holding 2^32.
  Message pull{kNs, RangePull{1, {}, std::nullopt, 0}};
  std::vector<std::uint8_t> bytes = encode(pull);
  bytes.pop_back();  // skip = 0
  for (std::uint8_t b : {0x80, 0x80, 0x80, 0x80, 0x10}) bytes.push_back(b);
  EXPECT_NE(refused(bytes, t).find("range_pull: skip: value 4294967296 exceeds 32 bits"),
            std::string::npos);
}

TEST(Codec, CountsBeyondTheBytesLeftAreRefusedBeforeAllocating) {
  const auto t = served();
  const std::uint8_t write = kind_byte(kind_of<WriteRequest>());
  // Two entries claimed, one present.
  Rng rng(2);
  Message one = random_message(kind_of<WriteRequest>(), kNs, rng);
  auto& w = std::get<WriteRequest>(one.body);
  w.entries.resize(1);
  w.entries[0].ns = kNs;
  std::vector<std::uint8_t> bytes = encode(one);
  bytes[bytes.size() - kEntryWireBytes - 1] = 2;  // the count, just before the entry
  EXPECT_NE(refused(bytes, t).find("write: entries: count 2"), std::string::npos);
  // 2^63 entries: refused by arithmetic, nothing reserved (a resize would abort).
  std::vector<std::uint8_t> huge = {0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  EXPECT_NE(refused(datagram(write, huge), t).find("count 9223372036854775808"), std::string::npos);
  // A detail string longer than the datagram.
  const std::uint8_t reply = kind_byte(kind_of<ClientReply>());
  EXPECT_NE(refused(datagram(reply, {1, 0, 0xff, 0x01, 'x'}), t).find("detail: length 255"),
            std::string::npos);
  // A journal block whose header claims more entries than follow.
  JournalBlock b;
  b.header.entry_count = 0;
  std::vector<std::uint8_t> blocks = encode(Message{kNs, JournalBlocks{1, {b}}});
  // header.entry_count is the byte after height, prev, timestamp and root.
  blocks[kEnvelopeBytes + 1 + 1 + 1 + 32 + 8 + 32] = 100;
  EXPECT_NE(refused(blocks, t).find("block.entries: count 100"), std::string::npos);
}

TEST(Codec, FlagsAndErrorCodesOutOfRangeAreRefused) {
  const auto t = served();
  std::vector<std::uint8_t> reply = encode(Message{kNs, ReadReplicaReply{1, {}, true}});
  reply.back() = 2;
  EXPECT_NE(refused(reply, t).find("more: flag byte 2"), std::string::npos);
  std::vector<std::uint8_t> refusal = encode(Message{kNs, Refused{1, ErrorCode::kLeaving}});
  refusal.back() = static_cast<std::uint8_t>(ErrorCode::kLeaving) + 1;
  EXPECT_NE(refused(refusal, t).find("unknown error code"), std::string::npos);
  std::vector<std::uint8_t> cursor = encode(Message{kNs, ReadRequest{1, {}, std::nullopt}});
  cursor[cursor.size() - 2] = 7;  // the presence byte of `after` (then `pages`, 1 byte)
  EXPECT_NE(refused(cursor, t).find("after: flag byte 7"), std::string::npos);
}

TEST(Codec, PiecePositionsPast32BitsAreRefused) {
  const auto t = served();
  BlockPiece p;
  p.first = UINT32_MAX;
  p.count = 1;
  p.positions = {UINT32_MAX};
  p.included = {Entry{}};
  p.included[0].ns = kNs;
  std::vector<std::uint8_t> bytes = encode(Message{kNs, CatchUpReply{1, {}, 1, false, p}});
  ASSERT_TRUE(decode(bytes, t).ok());
  // req, block count, head height, more, piece present, height, header flag, first (5
  // bytes), count, included count (1): then the first offset (0).
  const std::size_t at = kEnvelopeBytes + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 5 + 1 + 1;
  ASSERT_EQ(bytes[at - 1], 1);
  ASSERT_EQ(bytes[at], 0);
  bytes[at] = 1;
  EXPECT_NE(refused(bytes, t).find("piece.position: offset 1 from 4294967295"), std::string::npos);
}

TEST(Codec, UnknownNamespacesAreTheirOwnError) {
  codec::NamespaceTable only_other;
  ASSERT_TRUE(crypto_init());
  ASSERT_TRUE(only_other.add("other").ok());
  const std::vector<std::uint8_t> ping = encode(Message{kNs, Ping{1}});
  Result<Message> r = decode(ping, only_other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnknownNamespace);
  EXPECT_EQ(r.error().detail, "unknown namespace");
  // Malformed comes first: a truncated message is malformed whatever its namespace.
  EXPECT_EQ(decode(std::span(ping).first(ping.size() - 1), only_other).error().code,
            ErrorCode::kBadRequest);
}

TEST(Codec, NamespaceTableRefusesLongNames) {
  ASSERT_TRUE(crypto_init());
  codec::NamespaceTable t;
  EXPECT_TRUE(t.add("default").ok());
  EXPECT_TRUE(t.add("default").ok());
  EXPECT_EQ(t.size(), 1u);
  EXPECT_FALSE(t.add(std::string(kNamespaceBytesMax + 1, 'n')).ok());
  EXPECT_EQ(t.size(), 1u);
  ASSERT_NE(t.find(codec::namespace_id("default")), nullptr);
  EXPECT_EQ(*t.find(codec::namespace_id("default")), "default");
  EXPECT_EQ(t.find(codec::namespace_id("other")), nullptr);
}

// Random damage to valid encodings: each result is refused or decodes to a message that
// encodes back to exactly the damaged bytes (one encoding per message).
TEST(Codec, DamagedEncodingsAreRefusedOrCanonical) {
  const auto t = served();
  for (std::uint64_t seed : seeds()) {
    Rng rng(seed);
    for (int i = 0; i < 300; ++i) {
      std::vector<std::uint8_t> bytes =
          encode(random_message(rng.below(kMessageKinds), kNs, rng));
      for (std::uint64_t k = rng.below(4) + 1; k > 0; --k) {
        bytes[rng.below(bytes.size())] = static_cast<std::uint8_t>(rng.next_u64());
      }
      Result<Message> r = decode(bytes, t);
      if (r.ok()) {
        ASSERT_EQ(encode(*r), bytes) << repro(seed);
      } else {
        ASSERT_FALSE(r.error().detail.empty()) << repro(seed);
      }
    }
  }
}

}  // namespace
}  // namespace kittengrad

namespace kittengrad {
namespace {

// IPv6 nodes travel whole (family 6, 16 bytes and a port) and come back as the handle the
// process's address book gives that endpoint; IPv4 nodes keep their 48-bit value.
TEST(CodecAddresses, Ipv6NodesTravelWholeAndComeBackAsTheirHandle) {
  const auto t = served();
  codec::Ipv6Endpoint e;
  e.address[15] = 1;  // ::1
  e.port = 7400;
  const std::optional<Address> h = codec::address_book().intern(e);
  ASSERT_TRUE(h.has_value());
  Pong p{5, {NodeRef{RingId::from_u64(1), *h}, NodeRef{RingId::from_u64(2), (Address{0x7f000001} << 16) | 9}}};
  const Message m{kNs, p};
  const std::vector<std::uint8_t> bytes = codec::encode(m);
  EXPECT_EQ(bytes.size(), wire_size(m));
  EXPECT_EQ(wire_size(m), kEnvelopeBytes + 1 + 1 + (32 + 19) + (32 + 7));
  auto back = codec::decode(bytes, t);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(std::get<Pong>(back->body).predecessors, p.predecessors);
  // A family byte other than 4 and 6 is refused, naming the field.
  std::vector<std::uint8_t> bad = bytes;
  bad[kEnvelopeBytes + 1 + 1 + 32] = 5;
  EXPECT_NE(refused(bad, t).find("address family 5"), std::string::npos) << refused(bad, t);
}

// Node lists are counted for IPv4 nodes; lists of IPv6 nodes are cut by bytes, so every
// message still fits the smallest datagram.
TEST(CodecAddresses, ListsOfIpv6NodesAreCutToFit) {
  const MessageLimits l = message_limits(kMaxDatagramBytesMin - kTransportOverheadBytes);
  std::vector<NodeRef> v6;
  for (std::uint16_t i = 0; i < 64; ++i) {
    codec::Ipv6Endpoint e;
    e.address[0] = 0x20;
    e.address[15] = static_cast<std::uint8_t>(i);
    e.port = static_cast<std::uint16_t>(1000 + i);
    v6.push_back(NodeRef{RingId::from_u64(i), *codec::address_book().intern(e)});
  }
  Body b = GetNeighboursReply{UINT64_MAX, v6.front(), v6, v6, UINT64_MAX};
  fit_to_limits(b, l);
  const Message m{kNs, b};
  EXPECT_LE(wire_size(m), l.budget);
  const auto& r = std::get<GetNeighboursReply>(m.body);
  EXPECT_GE(r.successors.size(), 3u) << "lists should lose only what does not fit";
  EXPECT_EQ(codec::encode(m).size(), wire_size(m));
}

}  // namespace
}  // namespace kittengrad
