// wire_io.cc — the Reader's checks: truncation, varints (minimal, at most 10 bytes, within
// the field's range), flags and error codes in range, trailing bytes.
#include "wire_io.h"

#include <cassert>
#include <limits>

#include "kittengrad/real/address_book.h"

namespace kittengrad::codec::detail {

void Reader::fail(const char* what, const std::string& problem) {
  if (failed_) return;
  failed_ = true;
  error_ = kind_ ? std::string(kind_) + ": " : std::string();
  error_ += std::string(what) + ": " + problem;
}

const std::uint8_t* Reader::take(const char* what, std::size_t n) {
  if (failed_) return nullptr;
  if (in_.size() - pos_ < n) {
    fail(what, "truncated: needs " + std::to_string(n) + " bytes, " +
                   std::to_string(in_.size() - pos_) + " left");
    return nullptr;
  }
  const std::uint8_t* p = in_.data() + pos_;
  pos_ += n;
  return p;
}

std::uint64_t Reader::fixed(const char* what, int bytes) {
  const std::uint8_t* p = take(what, static_cast<std::size_t>(bytes));
  std::uint64_t v = 0;
  if (p) {
    for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  }
  return v;
}

void Reader::u8(const char* what, std::uint8_t& v) {
  const std::uint8_t* p = take(what, 1);
  v = p ? *p : 0;
}

// LEB128, seven bits a byte, low bits first. The tenth byte may only hold the top bit of
// 64; a last byte of zero after the first is an overlong (non-minimal) encoding, which
// would make two encodings of one message and break encode(decode(x)) == x.
void Reader::varint(const char* what, std::uint64_t& v) {
  v = 0;
  for (int i = 0; i < 10; ++i) {
    const std::uint8_t* p = take(what, 1);
    if (!p) return;
    const std::uint8_t b = *p;
    if (i == 9 && b > 1) {
      fail(what, b & 0x80 ? "varint longer than 10 bytes" : "varint overflows 64 bits");
      v = 0;
      return;
    }
    v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      if (b == 0 && i > 0) {
        fail(what, "overlong varint");
        v = 0;
      }
      return;
    }
  }
}

void Reader::varint32(const char* what, std::uint32_t& v) {
  std::uint64_t w = 0;
  varint(what, w);
  if (w > std::numeric_limits<std::uint32_t>::max()) {
    fail(what, "value " + std::to_string(w) + " exceeds 32 bits");
    w = 0;
  }
  v = static_cast<std::uint32_t>(w);
}

void Reader::zigzag(const char* what, std::int64_t& v) {
  std::uint64_t u = 0;
  varint(what, u);
  v = static_cast<std::int64_t>((u >> 1) ^ (0 - (u & 1)));
}

void Reader::flag(const char* what, bool& v) {
  std::uint8_t b = 0;
  u8(what, b);
  if (b > 1) fail(what, "flag byte " + std::to_string(b) + " is neither 0 nor 1");
  v = b == 1;
}

void Reader::error_code(const char* what, ErrorCode& c) {
  std::uint8_t b = 0;
  u8(what, b);
  if (b > static_cast<std::uint8_t>(ErrorCode::kLeaving)) {
    fail(what, "unknown error code " + std::to_string(b));
    b = 0;
  }
  c = static_cast<ErrorCode>(b);
}

void Reader::string(const char* what, std::string& s) {
  std::uint64_t n = 0;
  varint(what, n);
  if (failed_) return;
  if (n > left()) {
    fail(what, "length " + std::to_string(n) + " exceeds the " + std::to_string(left()) +
                   " bytes left");
    return;
  }
  const std::uint8_t* p = take(what, static_cast<std::size_t>(n));
  if (n == 0) return s.clear();
  s.assign(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

void Reader::offset32(const char* what, std::uint32_t& pos, std::uint32_t base) {
  std::uint64_t off = 0;
  varint(what, off);
  if (off > std::numeric_limits<std::uint32_t>::max() - base) {
    fail(what, "offset " + std::to_string(off) + " from " + std::to_string(base) +
                   " exceeds 32 bits");
    off = 0;
  }
  pos = static_cast<std::uint32_t>(base + off);
}

void Reader::expect_end() {
  if (!failed_ && pos_ != in_.size()) {
    fail("end", std::to_string(in_.size() - pos_) + " trailing bytes");
  }
}

namespace {
constexpr std::uint8_t kFamilyIpv4 = 4;
constexpr std::uint8_t kFamilyIpv6 = 6;
}  // namespace

void Writer::address(const char* what, Address a) {
  if (!is_ipv6_handle(a)) {
    u8(what, kFamilyIpv4);
    fixed(a, 6);
    return;
  }
  const std::optional<Ipv6Endpoint> e = address_book().find(a);
  assert(e && "an IPv6 handle this process's address book did not make");
  if (!e) {  // (cannot happen: handles never leave the process) an unreachable address
    u8(what, kFamilyIpv4);
    fixed(0, 6);
    return;
  }
  u8(what, kFamilyIpv6);
  bytes(what, e->address);
  fixed(e->port, 2);
}

void Reader::address(const char* what, Address& a) {
  std::uint8_t family = 0;
  u8(what, family);
  if (failed()) return;
  if (family == kFamilyIpv4) {
    a = fixed(what, 6);
    return;
  }
  if (family != kFamilyIpv6) return fail(what, "address family " + std::to_string(family));
  Ipv6Endpoint e;
  bytes(what, e.address);
  e.port = static_cast<std::uint16_t>(fixed(what, 2));
  if (failed()) return;
  const std::optional<Address> handle = address_book().intern(e);
  if (!handle) return fail(what, "the address book is full (" + std::to_string(kAddressBookMax) + " IPv6 endpoints)");
  a = *handle;
}

}  // namespace kittengrad::codec::detail
