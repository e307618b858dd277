// live_admin_test.cc — the admin datagrams: round trips, paging, and refusals.
#include <gtest/gtest.h>

#include "kittengrad/real/live_admin.h"
#include "live_operator.h"

namespace kittengrad::admin {
namespace {

std::vector<Item> many_items(std::size_t n) {
  std::vector<Item> items;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 3 == 0) {
      items.push_back({"ns/default/successor/" + std::to_string(i), std::string("127.0.0.1:7400")});
    } else {
      items.push_back({"counters/c" + std::to_string(i), std::uint64_t{i} * 1234567});
    }
  }
  return items;
}

TEST(LiveAdmin, RequestAndReplyRoundTrip) {
  const Datagram q = Request{.req = 77, .query = Query::kRing, .first = 5};
  auto back = decode_admin(encode_admin(q));
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(std::get<Request>(*back), std::get<Request>(q));
  const Datagram p = Reply{.req = 1ull << 62, .query = Query::kStats, .first = 3, .total = 9,
                           .items = many_items(6)};
  auto back2 = decode_admin(encode_admin(p));
  ASSERT_TRUE(back2.ok()) << back2.error().detail;
  EXPECT_EQ(std::get<Reply>(*back2), std::get<Reply>(p));
}

TEST(LiveAdmin, PagesFitTheBudgetAndCoverEveryItemOnce) {
  const std::vector<Item> all = many_items(500);
  const std::size_t budget = kMaxDatagramBytesMin - kTransportOverheadBytes;
  std::vector<Item> got;
  int pages = 0;
  while (got.size() < all.size()) {
    const Reply p = paged_reply(Request{.req = 1, .query = Query::kStats,
                                        .first = static_cast<std::uint32_t>(got.size())},
                                all, budget);
    ASSERT_FALSE(p.items.empty());
    EXPECT_LE(encode_admin(p).size(), budget);
    EXPECT_EQ(p.total, all.size());
    got.insert(got.end(), p.items.begin(), p.items.end());
    ++pages;
  }
  EXPECT_EQ(got, all);
  EXPECT_GT(pages, 10);
}

TEST(LiveAdmin, AdminKindIsNoCoreKind) {
  const std::vector<std::uint8_t> bytes = encode_admin(Request{});
  EXPECT_TRUE(is_admin(bytes));
  codec::NamespaceTable served;
  ASSERT_TRUE(served.add("default").ok());
  auto m = codec::decode(bytes, served);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().detail.find("unknown message kind"), std::string::npos);
}

TEST(LiveAdmin, MalformedAreRefusedNamingTheField) {
  std::vector<std::uint8_t> good = encode_admin(Reply{.req = 1, .query = Query::kStats, .first = 0,
                                                      .total = 2, .items = many_items(2)});
  // Every truncation is refused.
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto d = decode_admin(std::span<const std::uint8_t>(good.data(), n));
    EXPECT_FALSE(d.ok()) << n;
  }
  std::vector<std::uint8_t> trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(decode_admin(trailing).ok());
  std::vector<std::uint8_t> bad_tag = good;
  bad_tag[1] = 7;
  auto t = decode_admin(bad_tag);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().detail.find("tag"), std::string::npos);
  std::vector<std::uint8_t> bad_query = encode_admin(Request{.req = 1, .query = Query::kStats, .first = 0});
  bad_query[3] = 9;  // kind, tag, req (1 byte), query
  auto q = decode_admin(bad_query);
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().detail.find("query"), std::string::npos) << q.error().detail;
  // A count larger than the bytes could hold allocates nothing and is refused.
  const std::vector<std::uint8_t> huge = {kAdminByte, 1, 1, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f};
  auto h = decode_admin(huge);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().detail.find("items"), std::string::npos) << h.error().detail;
}

TEST(LiveAdmin, ItemsBecomeNestedJsonWithArrays) {
  const std::vector<Item> items = {{"peer/address", std::string("127.0.0.1:1")},
                                   {"ns/a/successor/0", std::string("x")},
                                   {"ns/a/successor/1", std::string("y")},
                                   {"ns/a/joined", std::uint64_t{1}}};
  EXPECT_EQ(live::items_json(items),
            "{\"peer\": {\"address\": \"127.0.0.1:1\"}, \"ns\": {\"a\": {\"successor\": [\"x\", "
            "\"y\"], \"joined\": 1}}}");
}

}  // namespace
}  // namespace kittengrad::admin
