// live_run_census.cc — a live peer's durable holdings as the oracle's view of it.
#include "live_run_census.h"

#include "kittengrad/real/sqlite_storage.h"

namespace kittengrad::live {

Result<bool> Census::refresh(runs::PeerIndex identity, const RingId& id,
                             const std::string& db_path) {
  auto held = std::make_unique<Held>();
  for (const std::string& ns : namespaces_) held->stores.emplace(ns, Store());
  Result<std::vector<StorageRecord>> records = SqliteStorage::read_snapshot(db_path);
  if (records) {
    for (const StorageRecord& r : *records) {
      auto it = held->stores.find(r.ns);
      if (it == held->stores.end()) continue;
      if (const auto* e = std::get_if<Entry>(&r.item)) {
        it->second.insert(*e);
      } else if (const auto* b = std::get_if<JournalBlock>(&r.item)) {
        for (const Entry& e : b->entries) it->second.insert(e);
      }
    }
  }
  std::int64_t keys = 0, entries = 0;
  for (const auto& [ns, store] : held->stores) {
    keys += static_cast<std::int64_t>(store.key_count());
    entries += static_cast<std::int64_t>(store.entry_count());
  }
  last_load_[identity] = {keys, entries};
  // The oracle recounts every key the peer is responsible for or holds, before and after.
  if (held_.contains(identity)) oracle_.peer_down(identity);
  Held* view = held.get();
  held_[identity] = std::move(held);
  oracle_.peer_up(identity, id, [view](const std::string& ns) -> const Store* {
    auto it = view->stores.find(ns);
    return it == view->stores.end() ? nullptr : &it->second;
  });
  if (!records) return records.error();
  return true;
}

void Census::down(runs::PeerIndex identity) {
  if (!held_.contains(identity)) return;
  oracle_.peer_down(identity);
  held_.erase(identity);
}

std::pair<std::int64_t, std::int64_t> Census::load_of(runs::PeerIndex identity) const {
  auto it = last_load_.find(identity);
  return it == last_load_.end() ? std::pair<std::int64_t, std::int64_t>{0, 0} : it->second;
}

}  // namespace kittengrad::live
