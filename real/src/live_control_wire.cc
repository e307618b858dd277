// live_control_wire.cc — the control datagrams' encoding and signature (layout in
// live_control_wire.h), on the codec's Writer and Reader so that it has the same checks.
#include "kittengrad/real/live_control_wire.h"

#include <bit>
#include <cmath>

#include "wire_io.h"

namespace kittengrad::live {

namespace {

using codec::detail::Reader;
using codec::detail::Writer;

constexpr std::uint8_t kOrderTag = 0;
constexpr std::uint8_t kAckTag = 1;
constexpr std::uint8_t kPartitionTag = 1;
constexpr std::uint8_t kHealTag = 2;
constexpr std::uint8_t kLossTag = 3;
constexpr const char* kSignatureDomain = "kittengrad control v1";

// The order without its signature: what the signature covers (after the domain and the
// listen text).
void write_unsigned(Writer& w, std::uint64_t seq, const ControlCommand& c) {
  w.u8("kind", kControlByte);
  w.u8("tag", kOrderTag);
  w.varint("seq", seq);
  if (const auto* p = std::get_if<Partition>(&c)) {
    w.u8("command", kPartitionTag);
    w.count("group", p->group, 1);
    for (const std::uint32_t h : p->group) w.varint32("group", h);
  } else if (std::holds_alternative<Heal>(c)) {
    w.u8("command", kHealTag);
  } else {
    const Loss& l = std::get<Loss>(c);
    w.u8("command", kLossTag);
    w.u64("rate", std::bit_cast<std::uint64_t>(l.rate));
    w.u64("duration_s", std::bit_cast<std::uint64_t>(l.duration_s));
  }
}

void read_partition(Reader& r, Partition& p) {
  const std::size_t n = r.count("group", p.group, 1);
  for (std::size_t i = 0; i < n && !r.failed(); ++i) {
    r.varint32("group", p.group[i]);
    if (p.group[i] >= kRunHostsMax) {
      r.fail("group", "host " + std::to_string(p.group[i]) + " is beyond the run's " +
                          std::to_string(kRunHostsMax) + " hosts");
    } else if (i > 0 && p.group[i] <= p.group[i - 1]) {
      r.fail("group", "host indices must be strictly increasing");
    }
  }
}

double read_double(Reader& r, const char* what, double max) {
  std::uint64_t bits = 0;
  r.u64(what, bits);
  const double v = std::bit_cast<double>(bits);
  if (!r.failed() && !(std::isfinite(v) && v >= 0 && v <= max)) {
    r.fail(what, "must be a number in [0, " + std::to_string(max) + "]");
  }
  return v;
}

std::vector<std::uint8_t> signed_message(const std::string& listen_text, std::uint64_t seq,
                                         const ControlCommand& c) {
  Writer w(128);
  w.string("domain", kSignatureDomain);
  w.string("listen", listen_text);
  write_unsigned(w, seq, c);
  return w.take();
}

}  // namespace

const char* command_name(const ControlCommand& c) {
  if (std::holds_alternative<Partition>(c)) return "partition";
  if (std::holds_alternative<Heal>(c)) return "heal";
  return "loss";
}

std::vector<std::uint8_t> encode_control(const ControlDatagram& d) {
  Writer w(128);
  if (const auto* o = std::get_if<ControlOrder>(&d)) {
    write_unsigned(w, o->seq, o->command);
    w.bytes("signature", o->signature);
  } else {
    w.u8("kind", kControlByte);
    w.u8("tag", kAckTag);
    w.varint("seq", std::get<ControlAck>(d).seq);
  }
  return w.take();
}

Result<ControlDatagram> decode_control(std::span<const std::uint8_t> bytes) {
  if (!is_control(bytes)) {
    return Error{ErrorCode::kBadRequest, "malformed control datagram: not a control kind byte"};
  }
  if (bytes.size() > codec::kPayloadBytesMax) {
    return Error{ErrorCode::kBadRequest, "malformed control datagram: " +
                                             std::to_string(bytes.size()) + " bytes, too long"};
  }
  Reader r(bytes.subspan(1));
  r.set_kind("control");
  std::uint8_t tag = 0;
  r.u8("tag", tag);
  ControlDatagram d;
  if (tag == kOrderTag) {
    ControlOrder o;
    r.varint("seq", o.seq);
    std::uint8_t command = 0;
    r.u8("command", command);
    if (command == kPartitionTag) {
      Partition p;
      read_partition(r, p);
      o.command = std::move(p);
    } else if (command == kHealTag) {
      o.command = Heal{};
    } else if (command == kLossTag) {
      Loss l;
      l.rate = read_double(r, "rate", 1.0);
      l.duration_s = read_double(r, "duration_s", kLossSecondsMax);
      o.command = l;
    } else if (!r.failed()) {
      r.fail("command", "neither partition (1), heal (2) nor loss (3): " + std::to_string(command));
    }
    r.bytes("signature", o.signature);
    d = std::move(o);
  } else if (tag == kAckTag) {
    ControlAck a;
    r.varint("seq", a.seq);
    d = a;
  } else {
    r.fail("tag", "neither order (0) nor ack (1): " + std::to_string(tag));
  }
  r.expect_end();
  if (r.failed()) return Error{ErrorCode::kBadRequest, "malformed control datagram: " + r.error()};
  return d;
}

ControlOrder sign_order(const std::string& listen_text, std::uint64_t seq,
                        const ControlCommand& command, const KeyPair& runner) {
  return ControlOrder{seq, command, sign(runner.secret_key, signed_message(listen_text, seq, command))};
}

bool verify_order(const ControlOrder& order, const std::string& listen_text, const PublicKey& runner) {
  return verify(runner, signed_message(listen_text, order.seq, order.command), order.signature);
}

}  // namespace kittengrad::live
