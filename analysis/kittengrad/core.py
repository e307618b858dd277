"""The protocol core's pure pieces, for analysis (compiled; see bindings/core_bindings.cc).

    from kittengrad import core
    core.ring_id(b"peer public key")             # SHA-256 ring position, 64 hex digits
    core.key_of("a record")                      # where the record's key sits
    core.replica_set(key, members, r=3)          # the r peers responsible, Chord's rule
    keys = core.KeyPair(7)
    e = core.make_entry(keys, "default", "canonical record", "update record", 1000)
    a, b = core.Store(), core.Store()
    a.insert(e); b.merge(a)                      # the CRDT merge is a set union
    j = core.Journal(keys); j.append(e, 1000); j.cut(2000)
    core.verify_chain(j.blocks)                  # (True, "") or (False, "height 3: ...")
"""

from ._native_loader import native

__all__ = ["ring_id", "ring_fraction", "cid", "key_of", "replica_set", "KeyPair", "Entry",
           "make_entry", "Store", "Journal", "JournalBlock", "verify_chain"]

globals().update({name: getattr(native(), name) for name in __all__})
