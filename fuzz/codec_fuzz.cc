// codec_fuzz.cc — libFuzzer target for the wire codec's decoder, the admin datagrams'
// decoder (live_admin.h) and the control datagrams' (live_control_wire.h): they share the
// first byte's space.
//
// Any bytes: decode() must return (never crash, hang or read out of bounds; ASan and UBSan
// watch), refuse with kBadRequest or kUnknownNamespace and a detail, or accept. What it
// accepts must be exactly wire_size() bytes, encode back to the same bytes (a message has
// one encoding) and decode again to an equal message.
//
//   make fuzz-codec FUZZ_SECONDS=60     (builds build-fuzz with clang; see fuzz/README.md)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "kittengrad/crypto.h"
#include "kittengrad/real/codec.h"
#include "kittengrad/real/live_admin.h"
#include "kittengrad/real/live_control_wire.h"
#include "message_equal.h"

namespace {

using namespace kittengrad;

const codec::NamespaceTable& served() {
  static const codec::NamespaceTable table = [] {
    if (!crypto_init()) std::abort();
    codec::NamespaceTable t;
    // The corpus generator's namespaces (make_codec_corpus.cc).
    if (!t.add("default").ok() || !t.add("other").ok()) std::abort();
    return t;
  }();
  return table;
}

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "codec_fuzz: %s\n", why);
  std::abort();
}

// The admin decoder: refuse with a detail, or accept what encodes back to the same bytes.
void check_admin(std::span<const std::uint8_t> input) {
  Result<admin::Datagram> d = admin::decode_admin(input);
  if (!d.ok()) {
    if (d.error().code != ErrorCode::kBadRequest) fail("admin: refused with an unexpected code");
    if (d.error().detail.empty()) fail("admin: refused without a detail");
    return;
  }
  if (!admin::is_admin(input)) fail("admin: accepted a datagram without the admin kind byte");
  const std::vector<std::uint8_t> again = admin::encode_admin(*d);
  if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) {
    fail("admin: accepted bytes that do not encode back to themselves");
  }
}

// The control decoder: the same rule; and an accepted order's signature check returns.
void check_control(std::span<const std::uint8_t> input) {
  Result<live::ControlDatagram> d = live::decode_control(input);
  if (!d.ok()) {
    if (d.error().code != ErrorCode::kBadRequest) fail("control: refused with an unexpected code");
    if (d.error().detail.empty()) fail("control: refused without a detail");
    return;
  }
  if (!live::is_control(input)) fail("control: accepted a datagram without the control kind byte");
  const std::vector<std::uint8_t> again = live::encode_control(*d);
  if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) {
    fail("control: accepted bytes that do not encode back to themselves");
  }
  if (const auto* o = std::get_if<live::ControlOrder>(&*d)) {
    (void)live::verify_order(*o, "127.77.0.1:7400", PublicKey{});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  check_admin(input);
  check_control(input);
  Result<Message> m = codec::decode(input, served());
  if (!m.ok()) {
    const ErrorCode code = m.error().code;
    if (code != ErrorCode::kBadRequest && code != ErrorCode::kUnknownNamespace) {
      fail("refused with an unexpected error code");
    }
    if (m.error().detail.empty()) fail("refused without a detail");
    return 0;
  }
  if (wire_size(*m) != size) fail("accepted bytes that are not wire_size() long");
  const std::vector<std::uint8_t> again = codec::encode(*m);
  if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) {
    fail("accepted bytes that do not encode back to themselves");
  }
  Result<Message> twice = codec::decode(again, served());
  if (!twice.ok()) fail("its own encoding does not decode");
  if (!codec_samples::same_message(*twice, *m)) fail("the round trip changed the message");
  return 0;
}
