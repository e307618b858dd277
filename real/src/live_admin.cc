// live_admin.cc — the admin datagrams' encoding (layout in live_admin.h), on the codec's
// Writer and Reader so that it has the same checks.
#include "kittengrad/real/live_admin.h"

#include <cassert>

#include "wire_io.h"

namespace kittengrad::admin {

namespace {

using codec::detail::Reader;
using codec::detail::Writer;

constexpr std::uint8_t kRequestTag = 0;
constexpr std::uint8_t kReplyTag = 1;
constexpr std::uint8_t kNumberType = 0;
constexpr std::uint8_t kStringType = 1;
// The smallest encoding of an item: an empty name, a type byte and a one-byte value.
constexpr std::size_t kItemBytesMin = 3;

void write_item(Writer& w, const Item& item) {
  w.string("name", item.name);
  if (const auto* n = std::get_if<std::uint64_t>(&item.value)) {
    w.u8("type", kNumberType);
    w.varint("value", *n);
  } else {
    w.u8("type", kStringType);
    w.string("value", std::get<std::string>(item.value));
  }
}

void read_item(Reader& r, Item& item) {
  r.string("name", item.name);
  std::uint8_t type = 0;
  r.u8("type", type);
  if (type == kNumberType) {
    std::uint64_t n = 0;
    r.varint("value", n);
    item.value = n;
  } else if (type == kStringType) {
    std::string s;
    r.string("value", s);
    item.value = std::move(s);
  } else {
    r.fail("type", "unknown item type " + std::to_string(type));
  }
}

void read_query(Reader& r, Query& q) {
  std::uint8_t b = 0;
  r.u8("query", b);
  if (b < 1 || b > kQueryMax) r.fail("query", "unknown query " + std::to_string(b));
  q = static_cast<Query>(b);
}

std::size_t item_bytes(const Item& item) {
  Writer w(64);
  write_item(w, item);
  return w.take().size();
}

}  // namespace

std::vector<std::uint8_t> encode_admin(const Datagram& d) {
  Writer w(128);
  w.u8("kind", kAdminByte);
  if (const auto* q = std::get_if<Request>(&d)) {
    w.u8("tag", kRequestTag);
    w.varint("req", q->req);
    w.u8("query", static_cast<std::uint8_t>(q->query));
    w.varint32("first", q->first);
  } else {
    const Reply& p = std::get<Reply>(d);
    w.u8("tag", kReplyTag);
    w.varint("req", p.req);
    w.u8("query", static_cast<std::uint8_t>(p.query));
    w.varint32("first", p.first);
    w.varint32("total", p.total);
    w.count("items", p.items, kItemBytesMin);
    for (const Item& item : p.items) write_item(w, item);
  }
  return w.take();
}

Result<Datagram> decode_admin(std::span<const std::uint8_t> bytes) {
  if (!is_admin(bytes)) {
    return Error{ErrorCode::kBadRequest, "malformed admin datagram: not an admin kind byte"};
  }
  if (bytes.size() > codec::kPayloadBytesMax) {
    return Error{ErrorCode::kBadRequest, "malformed admin datagram: " +
                                             std::to_string(bytes.size()) + " bytes, too long"};
  }
  Reader r(bytes.subspan(1));
  r.set_kind("admin");
  std::uint8_t tag = 0;
  r.u8("tag", tag);
  Datagram d;
  if (tag == kRequestTag) {
    Request q;
    r.varint("req", q.req);
    read_query(r, q.query);
    r.varint32("first", q.first);
    d = q;
  } else if (tag == kReplyTag) {
    Reply p;
    r.varint("req", p.req);
    read_query(r, p.query);
    r.varint32("first", p.first);
    r.varint32("total", p.total);
    const std::size_t n = r.count("items", p.items, kItemBytesMin);
    for (std::size_t i = 0; i < n && !r.failed(); ++i) read_item(r, p.items[i]);
    d = std::move(p);
  } else {
    r.fail("tag", "neither request (0) nor reply (1): " + std::to_string(tag));
  }
  r.expect_end();
  if (r.failed()) return Error{ErrorCode::kBadRequest, "malformed admin datagram: " + r.error()};
  return d;
}

Reply paged_reply(const Request& request, const std::vector<Item>& all, std::size_t budget) {
  Reply p;
  p.req = request.req;
  p.query = request.query;
  p.first = request.first;
  p.total = static_cast<std::uint32_t>(all.size());
  // The fixed part: kind, tag, four varints of at most 10 bytes and the query byte.
  std::size_t used = 2 + 1 + 4 * 10 + 1;
  for (std::size_t i = request.first; i < all.size(); ++i) {
    const std::size_t b = item_bytes(all[i]);
    if (!p.items.empty() && used + b > budget) break;
    used += b;
    p.items.push_back(all[i]);
  }
  return p;
}

std::optional<std::uint64_t> number_of(const std::vector<Item>& items, std::string_view name) {
  for (const Item& i : items) {
    if (i.name != name) continue;
    if (const auto* v = std::get_if<std::uint64_t>(&i.value)) return *v;
  }
  return std::nullopt;
}

}  // namespace kittengrad::admin
