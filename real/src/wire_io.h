// wire_io.h — the codec's two ends: a Writer that appends fields and a Reader that takes
// them back, with the same method names, so that message_fields.h describes each message
// once for both directions (an encoder and a decoder written apart drift apart).
//
// The Reader never throws and never reads past its span. Its failure is sticky: the first
// problem is recorded with the field it concerns, and every later read returns zero and
// consumes nothing, so a description runs to its end without checks after each field and
// without allocating (counts read as zero once failed).
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "kittengrad/messages.h"  // Address
#include "kittengrad/result.h"

namespace kittengrad::codec::detail {

// Writes fields into a byte vector. The Writer trusts its caller (the core's own
// messages): what it cannot encode is a broken precondition and stops the program.
class Writer {
 public:
  static constexpr bool kWriting = true;

  explicit Writer(std::size_t expected_bytes) { out_.reserve(expected_bytes); }

  void u8(const char*, std::uint8_t v) { out_.push_back(v); }
  void varint(const char*, std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void varint32(const char* what, std::uint32_t v) { varint(what, v); }
  void zigzag(const char* what, std::int64_t v) {
    const auto n = static_cast<std::uint64_t>(v);
    varint(what, (n << 1) ^ (v < 0 ? UINT64_MAX : 0));
  }
  void flag(const char* what, bool v) { u8(what, v ? 1 : 0); }
  void error_code(const char* what, ErrorCode c) { u8(what, static_cast<std::uint8_t>(c)); }
  template <std::size_t N>
  void bytes(const char*, const std::array<std::uint8_t, N>& v) {
    out_.insert(out_.end(), v.begin(), v.end());
  }
  // Big-endian fixed-width integers: timestamps (8), sums (8), addresses (6), positions (4).
  void u64(const char*, std::uint64_t v) { fixed(v, 8); }
  void i64(const char*, std::int64_t v) { fixed(static_cast<std::uint64_t>(v), 8); }
  void u48(const char*, std::uint64_t v) {
    assert(v >> 48 == 0 && "a node address takes 6 bytes on the wire");
    fixed(v, 6);
  }
  void u32(const char*, std::uint32_t v) { fixed(v, 4); }
  // A node's address: family 4 and 6 bytes (IPv4 and port), or family 6 and 18 bytes (the
  // IPv6 endpoint behind a handle of the process's address book).
  void address(const char* what, Address a);
  void string(const char* what, const std::string& s) {
    varint(what, s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  // A position as its offset from `base` (a varint of a byte or two).
  void offset32(const char* what, std::uint32_t pos, std::uint32_t base) {
    assert(pos >= base && "a piece's positions start at its first entry");
    varint(what, pos - base);
  }
  // The list's count; the caller then writes its items.
  template <typename T>
  std::size_t count(const char* what, const std::vector<T>& v, std::size_t /*min_item_bytes*/) {
    varint(what, v.size());
    return v.size();
  }
  // A list whose count travels elsewhere (a block's entry_count, a paired list's count).
  template <typename T>
  std::size_t counted_by(const char*, const std::vector<T>& v, std::size_t n, std::size_t) {
    assert(v.size() == n && "a list's length must match the count that travels for it");
    return n;
  }
  // The presence byte of an optional; the caller then writes the value if present.
  template <typename T>
  bool present(const char* what, const std::optional<T>& o) {
    flag(what, o.has_value());
    return o.has_value();
  }
  // Entries travel without their namespace (the envelope has it).
  void entry_namespace(const std::string&) {}
  // A field that travels only in some shapes must be zero in the others.
  template <typename T>
  void absent(const char*, const T& v) {
    assert(v == T{} && "a field that does not travel must hold its default");
    (void)v;
  }

  [[nodiscard]] std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  void fixed(std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }

  std::vector<std::uint8_t> out_;
};

// Reads fields from a span; see the file comment for its failure rule.
class Reader {
 public:
  static constexpr bool kWriting = false;

  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}

  // Names the message kind in error details ("write: entries: ...").
  void set_kind(const char* kind) { kind_ = kind; }
  // The namespace every entry read gets.
  void set_namespace(std::string ns) { ns_ = std::move(ns); }

  void u8(const char* what, std::uint8_t& v);
  void varint(const char* what, std::uint64_t& v);
  void varint32(const char* what, std::uint32_t& v);
  void zigzag(const char* what, std::int64_t& v);
  void flag(const char* what, bool& v);
  void error_code(const char* what, ErrorCode& c);
  template <std::size_t N>
  void bytes(const char* what, std::array<std::uint8_t, N>& v) {
    if (const std::uint8_t* p = take(what, N)) std::copy(p, p + N, v.begin());
  }
  void u64(const char* what, std::uint64_t& v) { v = fixed(what, 8); }
  void i64(const char* what, std::int64_t& v) { v = static_cast<std::int64_t>(fixed(what, 8)); }
  void u48(const char* what, std::uint64_t& v) { v = fixed(what, 6); }
  void u32(const char* what, std::uint32_t& v) { v = static_cast<std::uint32_t>(fixed(what, 4)); }
  // An IPv6 endpoint gets its handle from the process's address book (refused when full).
  void address(const char* what, Address& a);
  void string(const char* what, std::string& s);
  void offset32(const char* what, std::uint32_t& pos, std::uint32_t base);
  template <typename T>
  std::size_t count(const char* what, std::vector<T>& v, std::size_t min_item_bytes) {
    std::uint64_t n = 0;
    varint(what, n);
    return counted_by(what, v, n, min_item_bytes);
  }
  // Sizes `v` to n items only if the bytes left can hold n items of min_item_bytes each
  // (0: the caller has justified n already).
  template <typename T>
  std::size_t counted_by(const char* what, std::vector<T>& v, std::uint64_t n,
                         std::size_t min_item_bytes) {
    if (failed()) return 0;
    if (min_item_bytes > 0 && n > left() / min_item_bytes) {
      fail(what, "count " + std::to_string(n) + " needs at least " +
                     std::to_string(min_item_bytes) + " bytes each, " + std::to_string(left()) +
                     " left");
      return 0;
    }
    v.resize(static_cast<std::size_t>(n));
    return static_cast<std::size_t>(n);
  }
  template <typename T>
  bool present(const char* what, std::optional<T>& o) {
    bool has = false;
    flag(what, has);
    if (has) o.emplace();
    return has;
  }
  void entry_namespace(std::string& ns) const { ns = ns_; }
  template <typename T>
  void absent(const char*, T&) {}

  // Fails unless every byte was read.
  void expect_end();
  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] std::size_t left() const { return failed_ ? 0 : in_.size() - pos_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  // Records the first failure; later ones are consequences of it.
  void fail(const char* what, const std::string& problem);

 private:
  // The next n bytes, or nullptr (and failure) if fewer are left.
  const std::uint8_t* take(const char* what, std::size_t n);
  std::uint64_t fixed(const char* what, int bytes);

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  std::string error_;
  const char* kind_ = nullptr;
  std::string ns_;
};

// The type a field description gets: const for the Writer, mutable for the Reader.
template <typename IO, typename T>
using Like = std::conditional_t<IO::kWriting, const T, T>;

}  // namespace kittengrad::codec::detail
