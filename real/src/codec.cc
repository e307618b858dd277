// codec.cc — the envelope (version and kind byte, namespace id) around the bodies that
// message_fields.h describes, and the dispatch from a kind byte to its body type.
#include "kittengrad/real/codec.h"

#include <cassert>
#include <utility>

#include "kittengrad/crypto.h"
#include "message_fields.h"
#include "wire_io.h"

namespace kittengrad::codec {

namespace {

using detail::Reader;
using detail::Writer;

Error malformed(const std::string& detail) {
  return Error{ErrorCode::kBadRequest, "malformed datagram: " + detail};
}

// Reads the body of kind I into a Message.
template <std::size_t I>
Body read_body(Reader& r) {
  Body body{std::in_place_index<I>};
  detail::fields(r, std::get<I>(body));
  return body;
}

using BodyReader = Body (*)(Reader&);

// One reader per kind, indexed by the kind byte: every alternative of Body, so a kind
// without a description in message_fields.h does not compile.
template <std::size_t... I>
constexpr std::array<BodyReader, sizeof...(I)> body_readers(std::index_sequence<I...>) {
  return {&read_body<I>...};
}
constexpr auto kBodyReaders = body_readers(std::make_index_sequence<kMessageKinds>{});

}  // namespace

NamespaceId namespace_id(std::string_view name) {
  const Hash256 h = sha256(name);
  NamespaceId id{};
  std::copy(h.begin(), h.begin() + id.size(), id.begin());
  return id;
}

Result<bool> NamespaceTable::add(std::string name) {
  if (name.size() > kNamespaceBytesMax) {
    return Error{ErrorCode::kBadRequest, "namespace name longer than " +
                                             std::to_string(kNamespaceBytesMax) + " bytes"};
  }
  const NamespaceId id = namespace_id(name);
  auto [it, inserted] = names_.try_emplace(id, name);
  if (!inserted && it->second != name) {
    return Error{ErrorCode::kBadRequest,
                 "namespaces '" + it->second + "' and '" + name + "' share an 8-byte id"};
  }
  return true;
}

const std::string* NamespaceTable::find(const NamespaceId& id) const {
  auto it = names_.find(id);
  return it == names_.end() ? nullptr : &it->second;
}

std::vector<std::uint8_t> encode(const Message& m) {
  const std::size_t kind = m.body.index();
  Writer w(wire_size(m));
  w.u8("kind", static_cast<std::uint8_t>(kWireVersion << kVersionShift | kind));
  w.bytes("namespace", namespace_id(m.ns));
  std::visit([&w](const auto& body) { detail::fields(w, body); }, m.body);
  std::vector<std::uint8_t> out = w.take();
  assert(out.size() == wire_size(m) && "the codec writes what wire_size() charges");
  return out;
}

Result<Message> decode(std::span<const std::uint8_t> bytes, const NamespaceTable& served) {
  if (bytes.empty()) return malformed("empty datagram");
  if (bytes.size() > kPayloadBytesMax) {
    return malformed(std::to_string(bytes.size()) + " bytes, more than the " +
                     std::to_string(kPayloadBytesMax) + " any peer sends");
  }
  const std::uint8_t version = bytes[0] >> kVersionShift;
  const std::size_t kind = bytes[0] & kKindMask;
  if (version != kWireVersion) {
    return malformed("protocol version " + std::to_string(version) + ", this peer speaks " +
                     std::to_string(kWireVersion));
  }
  if (kind >= kMessageKinds) return malformed("unknown message kind " + std::to_string(kind));

  Reader r(bytes.subspan(1));
  r.set_kind(message_kind_name(kind));
  NamespaceId id{};
  r.bytes("namespace", id);
  const std::string* ns = served.find(id);
  if (ns) r.set_namespace(*ns);
  Message m{ns ? *ns : std::string(), kBodyReaders[kind](r)};
  r.expect_end();
  if (r.failed()) return malformed(r.error());
  // Only a well-formed message counts as one for an unknown namespace.
  if (!ns) return Error{ErrorCode::kUnknownNamespace, "unknown namespace"};
  return m;
}

}  // namespace kittengrad::codec
