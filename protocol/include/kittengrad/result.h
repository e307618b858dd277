// kittengrad/result.h — errors as values at API boundaries.
//
// Every refusal the protocol can send to a client or a peer has an ErrorCode; its name is
// the string users see (`wrong_peer`, `bad_signature`, ...). Result<T> is a small
// expected-like value: the core never throws across its boundary.
//
//   Result<Block> r = decode_block(bytes);
//   if (!r) return r.error();
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kittengrad {

enum class ErrorCode : std::uint8_t {
  kOk = 0,
  kWrongPeer,         // this peer is not a replica of the key; carries a redirect
  kUnknownNamespace,  // this peer does not serve the namespace
  kBadSignature,      // an entry or block whose signature does not verify
  kBadBlock,          // a journal block that does not link or whose hash does not match
  kTimeout,           // no answer in time after every retry
  kQuorumFailed,      // fewer than W replicas acknowledged durably
  kBadRequest,        // malformed or out-of-limit request
  kOverloaded,        // a bounded queue is full; retry later
  kLeaving,           // the peer is handing off and accepts no new writes
};

[[nodiscard]] std::string_view error_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kOk;
  std::string detail;

  bool operator==(const Error&) const = default;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace kittengrad
