// The signature cache answers exactly as verify_entry, remembers only what verified, keys
// by a hash that covers the signature (a forgery of a cached entry is still refused), and
// holds at most its capacity. Store::contains(entry) finds an entry by its whole bytes.
#include <gtest/gtest.h>

#include "kittengrad/store.h"
#include "kittengrad/verifier.h"

namespace kittengrad {
namespace {

Entry entry_n(const KeyPair& author, int i, const Cid& canonical) {
  return make_entry(author, "default", canonical, Cid::of_record("update " + std::to_string(i)),
                    1000 + i);
}

TEST(SignatureCache, AnswersAsVerifyEntryAndChecksOnce) {
  ASSERT_TRUE(crypto_init());
  const KeyPair author = keypair_from_u64(5);
  const Entry good = entry_n(author, 1, Cid::of_record("c"));
  SignatureCache cache(64);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(cache.verify(good));
  EXPECT_EQ(cache.checks(), 1u) << "a cached entry was checked again";
  EXPECT_EQ(cache.hits(), 4u);
  Entry altered = good;
  altered.timestamp_ms += 1;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(cache.verify(altered));
  EXPECT_EQ(cache.checks(), 4u) << "a failure must not be remembered as anything";
  Entry too_long_ns = make_entry(author, std::string(kNamespaceBytesMax + 1, 'n'),
                                 Cid::of_record("c"), Cid::of_record("u"), 1);
  EXPECT_FALSE(cache.verify(too_long_ns));
  EXPECT_FALSE(cache.verify(too_long_ns));
}

TEST(SignatureCache, ForgedSignatureOverCachedFieldsIsRefused) {
  // The fields of an entry the cache knows valid, under another signature: a cache keyed
  // by the signed fields alone would answer "valid" here.
  ASSERT_TRUE(crypto_init());
  const KeyPair author = keypair_from_u64(6);
  const Entry good = entry_n(author, 2, Cid::of_record("c"));
  SignatureCache cache(64);
  ASSERT_TRUE(cache.verify(good));
  Entry flipped = good;
  flipped.signature[3] ^= 1;
  EXPECT_FALSE(cache.verify(flipped));
  Entry other_key = good;
  other_key.signature = sign(keypair_from_u64(7).secret_key, entry_signing_bytes(good));
  EXPECT_FALSE(cache.verify(other_key));
  EXPECT_TRUE(cache.verify(good));
}

TEST(SignatureCache, HoldsAtMostItsCapacityAndKeepsTheRecent) {
  ASSERT_TRUE(crypto_init());
  const KeyPair author = keypair_from_u64(8);
  const Cid c = Cid::of_record("c");
  SignatureCache cache(8);
  std::vector<Entry> entries;
  for (int i = 0; i < 40; ++i) entries.push_back(entry_n(author, i, c));
  for (const Entry& e : entries) {
    EXPECT_TRUE(cache.verify(e));
    EXPECT_LE(cache.size(), cache.capacity());
  }
  EXPECT_EQ(cache.capacity(), 8u);
  EXPECT_EQ(cache.checks(), 40u);
  // The latest few are still known; the first ones were let go and are checked again.
  EXPECT_TRUE(cache.verify(entries.back()));
  EXPECT_EQ(cache.checks(), 40u);
  EXPECT_TRUE(cache.verify(entries.front()));
  EXPECT_EQ(cache.checks(), 41u);
}

TEST(Store, ContainsEntryMatchesEveryField) {
  ASSERT_TRUE(crypto_init());
  const KeyPair author = keypair_from_u64(9);
  const Cid c = Cid::of_record("hot");
  Store store;
  std::vector<Entry> held;
  for (int i = 0; i < 300; ++i) {
    held.push_back(entry_n(author, i % 150, c));  // pairs share a timestamp and update...
    held.back().timestamp_ms = 1000 + i / 2;
    held.back().signature[0] = static_cast<std::uint8_t>(i);  // ...told apart by signature
    store.insert(held.back());
  }
  for (const Entry& e : held) EXPECT_TRUE(store.contains(e));
  Entry other = held[77];
  other.signature[1] ^= 1;
  EXPECT_FALSE(store.contains(other)) << "an entry with another signature is not held";
  Entry elsewhere = held[77];
  elsewhere.canonical = Cid::of_record("cold");
  EXPECT_FALSE(store.contains(elsewhere));
  EXPECT_FALSE(store.contains(entry_n(author, 999, c)));
}

}  // namespace
}  // namespace kittengrad
