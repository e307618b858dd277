// Ring ids and clockwise intervals: wrap-around, degenerate intervals, finger starts,
// distances; SHA-256 and Ed25519 identities; CIDs; signed entries.
#include <gtest/gtest.h>

#include "kittengrad/cid.h"
#include "kittengrad/entry.h"
#include "kittengrad/ids.h"
#include "kittengrad/rng.h"

namespace kittengrad {
namespace {

RingId id(std::uint64_t top) { return RingId::from_u64(top); }
const RingId kMax = [] {
  RingId m;
  m.bytes.fill(0xff);
  return m;
}();

TEST(RingInterval, HalfOpenWithoutWrap) {
  EXPECT_TRUE(in_half_open(id(5), id(1), id(5)));
  EXPECT_FALSE(in_half_open(id(1), id(1), id(5)));
  EXPECT_TRUE(in_half_open(id(2), id(1), id(5)));
  EXPECT_FALSE(in_half_open(id(6), id(1), id(5)));
}

TEST(RingInterval, HalfOpenWrapsPastZero) {
  // (9, 2] holds 10.., max, 0, 1, 2 and nothing from 3 to 9.
  EXPECT_TRUE(in_half_open(id(10), id(9), id(2)));
  EXPECT_TRUE(in_half_open(kMax, id(9), id(2)));
  EXPECT_TRUE(in_half_open(RingId{}, id(9), id(2)));
  EXPECT_TRUE(in_half_open(id(2), id(9), id(2)));
  EXPECT_FALSE(in_half_open(id(3), id(9), id(2)));
  EXPECT_FALSE(in_half_open(id(9), id(9), id(2)));
}

TEST(RingInterval, SinglePeerOwnsTheWholeCircle) {
  // A ring of one: the peer's range (self, self] is everything, self included.
  for (std::uint64_t x : {0ull, 1ull, 7ull, ~0ull}) EXPECT_TRUE(in_half_open(id(x), id(7), id(7)));
  EXPECT_TRUE(in_half_open(kMax, id(7), id(7)));
  // The open interval (a, a) is everything but a.
  EXPECT_FALSE(in_open(id(7), id(7), id(7)));
  EXPECT_TRUE(in_open(id(8), id(7), id(7)));
}

TEST(RingInterval, TwoPeersSplitTheCircle) {
  const RingId a = id(100), b = id(200);
  Rng rng(5);
  for (int i = 0; i < 1000; ++i) {
    RingId k;
    for (auto& byte : k.bytes) byte = static_cast<std::uint8_t>(rng.next_u64());
    // Every key belongs to exactly one of the two peers.
    EXPECT_NE(in_half_open(k, a, b), in_half_open(k, b, a)) << k.hex();
  }
  EXPECT_TRUE(in_half_open(b, a, b));
  EXPECT_TRUE(in_half_open(a, b, a));
}

TEST(RingId, PlusPow2CarriesAndWraps) {
  EXPECT_EQ(RingId{}.plus_pow2(0).bytes[31], 1);
  EXPECT_EQ(RingId{}.plus_pow2(255).bytes[0], 0x80);
  RingId low = RingId{};
  low.bytes[31] = 0xff;
  const RingId carried = low.plus_pow2(0);
  EXPECT_EQ(carried.bytes[31], 0);
  EXPECT_EQ(carried.bytes[30], 1);
  EXPECT_EQ(kMax.plus_pow2(0), RingId{}) << "adding past the top wraps to zero";
  EXPECT_EQ(id(0x8000000000000000ull).plus_pow2(255), RingId{});
}

TEST(RingId, Log2Distance) {
  EXPECT_EQ(log2_distance(id(1), id(1)), -1);
  EXPECT_EQ(log2_distance(RingId{}, RingId{}.plus_pow2(0)), 0);
  EXPECT_EQ(log2_distance(RingId{}, RingId{}.plus_pow2(200)), 200);
  // Wrapping: from max to 0 is one step.
  EXPECT_EQ(log2_distance(kMax, RingId{}), 0);
  EXPECT_EQ(log2_distance(id(2), id(1)), 255);  // almost the whole circle
}

TEST(RingId, HexRoundTripAndOrdering) {
  Rng rng(9);
  for (int i = 0; i < 100; ++i) {
    RingId a;
    for (auto& byte : a.bytes) byte = static_cast<std::uint8_t>(rng.next_u64());
    RingId back;
    ASSERT_TRUE(RingId::from_hex(a.hex(), &back));
    EXPECT_EQ(a, back);
    EXPECT_EQ(a < kMax || a == kMax, true);
  }
  RingId out;
  EXPECT_FALSE(RingId::from_hex("zz", &out));
  EXPECT_FALSE(RingId::from_hex(std::string(64, 'g'), &out));
  EXPECT_LT(id(1), id(2));
}

TEST(Identity, PositionIsTheHashOfThePublicKey) {
  ASSERT_TRUE(crypto_init());
  const KeyPair k = keypair_from_u64(3);
  EXPECT_EQ(k.ring_id(), RingId{sha256(std::span<const std::uint8_t>(k.public_key))});
  EXPECT_EQ(keypair_from_u64(3).public_key, k.public_key) << "deterministic from the seed";
  EXPECT_NE(keypair_from_u64(4).public_key, k.public_key);
  // SHA-256 of "abc" (FIPS 180-2 test vector).
  EXPECT_EQ(to_hex(sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Cid, TextRoundTripAndRejection) {
  const Cid c = Cid::of_record("hello world");
  const std::string text = c.to_string();
  EXPECT_EQ(text[0], 'b');
  Cid back;
  ASSERT_TRUE(Cid::parse(text, &back));
  EXPECT_EQ(back, c);
  EXPECT_FALSE(Cid::parse("", &back));
  EXPECT_FALSE(Cid::parse("b", &back));
  EXPECT_FALSE(Cid::parse("Qmnotbase32", &back));
  EXPECT_FALSE(Cid::parse(text.substr(0, text.size() - 2), &back));
  EXPECT_FALSE(Cid::parse(text + "aa", &back));
  // The raw-codec CIDv1 of "hello world", as IPFS prints it.
  EXPECT_EQ(text, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
}

TEST(Entry, SignatureCoversEveryField) {
  ASSERT_TRUE(crypto_init());
  const KeyPair author = keypair_from_u64(11);
  const Cid canonical = Cid::of_record("canonical"), update = Cid::of_record("update");
  const Entry e = make_entry(author, "default", canonical, update, 1234);
  ASSERT_TRUE(verify_entry(e));
  Entry x = e;
  x.ns = "other";
  EXPECT_FALSE(verify_entry(x));
  x = e;
  x.canonical.bytes[5] ^= 1;
  EXPECT_FALSE(verify_entry(x));
  x = e;
  x.timestamp_ms += 1;
  EXPECT_FALSE(verify_entry(x));
  x = e;
  x.update.bytes[7] ^= 1;
  EXPECT_FALSE(verify_entry(x));
  x = e;
  x.author = keypair_from_u64(12).public_key;
  EXPECT_FALSE(verify_entry(x));
  x = e;
  x.signature[0] ^= 1;
  EXPECT_FALSE(verify_entry(x));
  x = e;
  x.ns = std::string(kNamespaceBytesMax + 1, 'n');
  EXPECT_FALSE(verify_entry(x));
  EXPECT_NE(entry_hash(e), entry_hash(make_entry(author, "default", canonical, update, 1235)));
  EXPECT_TRUE(make_entry(author, "default", canonical, canonical, 1).is_insert());
}

}  // namespace
}  // namespace kittengrad
