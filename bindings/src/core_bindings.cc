// core_bindings.cc — the protocol core's pure pieces, for analysis and teaching:
//
//   ring_id(b"...")                  SHA-256 position on the ring, as 64 hex digits
//   key_of(record)                   where a record's key (its CID) sits on the ring
//   replica_set(key, members, r)     the r peers responsible for a key, for a membership
//   KeyPair(seed)                    a deterministic Ed25519 identity
//   make_entry(keys, ns, canonical, update, timestamp_ms)   a signed store entry
//   Store: insert / merge (the CRDT's set union) / same_contents
//   Journal: append / cut; verify_chain(blocks) -> (ok, reason)
//
// Ring ids travel as hex strings; records as bytes or str. Nothing here touches a network
// or the simulator.
#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings.h"
#include "kittengrad/cid.h"
#include "kittengrad/crypto.h"
#include "kittengrad/entry.h"
#include "kittengrad/ids.h"
#include "kittengrad/journal.h"
#include "kittengrad/ring.h"
#include "kittengrad/store.h"

namespace kittengrad::bindings {
namespace py = pybind11;

namespace {

std::vector<std::uint8_t> bytes_of(const py::object& data) {
  std::string s;
  if (py::isinstance<py::bytes>(data) || py::isinstance<py::bytearray>(data)) {
    s = py::bytes(data).cast<std::string>();
  } else if (py::isinstance<py::str>(data)) {
    s = data.cast<std::string>();  // UTF-8
  } else {
    throw py::type_error("expected bytes or str");
  }
  return {s.begin(), s.end()};
}

RingId ring_id_of_hex(const std::string& hex) {
  RingId id;
  if (!RingId::from_hex(hex, &id)) {
    throw py::value_error("not a ring id (64 hex digits): '" + hex + "'");
  }
  return id;
}

Cid cid_of(const py::object& record) {
  const std::vector<std::uint8_t> b = bytes_of(record);
  return Cid::of_record(std::span<const std::uint8_t>(b));
}

// Chord's rule: a key belongs to the first peer clockwise at or after it, and to the
// r - 1 peers after that (fewer when the ring has fewer peers).
std::vector<std::string> replica_set(const std::string& key_hex,
                                     const std::vector<std::string>& members, int r) {
  if (r < 1) throw py::value_error("r must be >= 1");
  std::vector<RingId> ring;
  ring.reserve(members.size());
  for (const std::string& m : members) ring.push_back(ring_id_of_hex(m));
  std::sort(ring.begin(), ring.end());
  ring.erase(std::unique(ring.begin(), ring.end()), ring.end());
  std::vector<std::string> out;
  for (auto it : ring_successors(ring, ring_id_of_hex(key_hex), static_cast<std::size_t>(r))) {
    out.push_back(it->hex());
  }
  return out;
}

py::tuple verification(const Result<bool>& r) {
  if (r.ok()) return py::make_tuple(true, "");
  return py::make_tuple(false, r.error().detail);
}

}  // namespace

void bind_core(py::module_& m) {
  m.def("ring_id", [](const py::object& data) { return RingId::of_bytes(bytes_of(data)).hex(); },
        py::arg("data"), "SHA-256 of the bytes (str: UTF-8) as a ring position, in hex.");
  m.def("ring_fraction", [](const std::string& hex) { return ring_id_of_hex(hex).fraction(); },
        py::arg("ring_id"), "Position of a ring id as a fraction of the circle, in [0, 1).");
  m.def("cid", [](const py::object& record) { return cid_of(record).to_string(); },
        py::arg("record"), "The CIDv1 (raw, sha2-256) of a record, as base32 text.");
  m.def("key_of", [](const py::object& record) { return cid_of(record).ring_key().hex(); },
        py::arg("record"), "The ring id of a record's key (its CID).");
  m.def("replica_set", &replica_set, py::arg("key"), py::arg("members"), py::arg("r") = 3,
        "The ring ids of the r peers responsible for `key` among `members` (ring ids).");

  py::class_<KeyPair>(m, "KeyPair")
      .def(py::init([](std::uint64_t seed) { return keypair_from_u64(seed); }), py::arg("seed"))
      .def_property_readonly("public_key",
                             [](const KeyPair& k) { return to_hex(k.public_key); })
      .def_property_readonly("ring_id", [](const KeyPair& k) { return k.ring_id().hex(); });

  py::class_<Entry>(m, "Entry")
      .def_property_readonly("ns", [](const Entry& e) { return e.ns; })
      .def_property_readonly("key", [](const Entry& e) { return e.key().hex(); })
      .def_property_readonly("canonical", [](const Entry& e) { return e.canonical.to_string(); })
      .def_property_readonly("update", [](const Entry& e) { return e.update.to_string(); })
      .def_property_readonly("author", [](const Entry& e) { return to_hex(e.author); })
      .def_property_readonly("timestamp_ms", [](const Entry& e) { return e.timestamp_ms; })
      .def_property_readonly("is_insert", &Entry::is_insert)
      .def("verify", [](const Entry& e) { return verify_entry(e); },
           "True iff the author's signature holds.")
      .def("__eq__", [](const Entry& a, const Entry& b) { return a == b; })
      .def("__repr__", [](const Entry& e) {
        return "<Entry ns=" + e.ns + " key=" + e.key().short_hex() +
               (e.is_insert() ? " insert" : " update") + ">";
      });

  m.def(
      "make_entry",
      [](const KeyPair& keys, const std::string& ns, const py::object& canonical,
         const py::object& update, std::int64_t timestamp_ms) {
        const Cid c = cid_of(canonical);
        const Cid u = update.is_none() ? c : cid_of(update);
        return make_entry(keys, ns, c, u, timestamp_ms);
      },
      py::arg("keys"), py::arg("ns"), py::arg("canonical"), py::arg("update") = py::none(),
      py::arg("timestamp_ms") = 0,
      "A signed entry adding the record `update` to the key of record `canonical` (an insert "
      "when update is None).");

  py::class_<Store>(m, "Store")
      .def(py::init<>())
      .def(
          "insert",
          [](Store& s, const Entry& e) {
            if (!verify_entry(e)) throw py::value_error("the entry's signature does not verify");
            return s.insert(e);
          },
          py::arg("entry"), "Adds a verified entry; False if it was already there.")
      .def("merge", &Store::merge_from, py::arg("other"),
           "Set union with another store (the CRDT merge); returns the entries gained.")
      .def("same_contents", &Store::same_contents, py::arg("other"))
      .def_property_readonly("key_count", &Store::key_count)
      .def_property_readonly("entry_count", &Store::entry_count)
      .def(
          "entries",
          [](const Store& s, const std::optional<std::string>& key) {
            std::vector<Entry> out;
            auto take = [&out](const RingId&, const KeySlot& slot) {
              for (const StoredEntry& e : slot.entries) out.push_back(e.entry);
            };
            if (key) {
              if (const KeySlot* slot = s.find(ring_id_of_hex(*key))) take(RingId{}, *slot);
            } else {
              s.for_each(take);
            }
            return out;
          },
          py::arg("key") = py::none(),
          "Entries in lookup order (of one key, or of every key in ring order).");

  py::class_<JournalBlock>(m, "JournalBlock")
      .def_property_readonly("height", [](const JournalBlock& b) { return b.header.height; })
      .def_property_readonly("prev", [](const JournalBlock& b) { return to_hex(b.header.prev); })
      .def_property(
          "timestamp_ms", [](const JournalBlock& b) { return b.header.timestamp_ms; },
          [](JournalBlock& b, std::int64_t t) { b.header.timestamp_ms = t; },
          "Writable, to see what verification says of a block changed after signing.")
      .def_property_readonly("entries", [](const JournalBlock& b) { return b.entries; })
      .def_property_readonly("hash",
                             [](const JournalBlock& b) { return to_hex(block_hash(b.header, b.signature)); });

  py::class_<Journal>(m, "Journal")
      .def(py::init<const KeyPair&, std::int64_t, std::size_t>(), py::arg("keys"),
           py::arg("block_interval_ms") = 1000, py::arg("block_entries_max") = 256)
      .def("append", &Journal::append, py::arg("entry"), py::arg("now_ms"))
      .def(
          "cut",
          [](Journal& j, std::int64_t now_ms) {
            if (j.pending().empty()) throw py::value_error("nothing pending to cut");
            return j.cut(now_ms);
          },
          py::arg("now_ms"), "Seals the pending entries into the next block and returns it.")
      .def_property_readonly("height", &Journal::height)
      .def_property_readonly("head_hash", [](const Journal& j) { return to_hex(j.head_hash()); })
      .def_property_readonly("blocks", [](const Journal& j) { return j.blocks(); });

  m.def(
      "verify_chain",
      [](const std::vector<JournalBlock>& blocks) {
        return verification(verify_chain(blocks, Hash256{}));
      },
      py::arg("blocks"),
      "Checks every block's signature and entries root and every hash link from height 1; "
      "returns (ok, reason), the reason naming the first bad height.");
}

}  // namespace kittengrad::bindings
