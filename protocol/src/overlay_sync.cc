// overlay_sync.cc — keeping replicas equal: anti-entropy, range paging, pushes,
// garbage collection of keys that left our range, and journal catch-up after downtime.
// (Hand-off on leave: overlay_leave.cc.)
//
// Anti-entropy. Every interval a peer opens one session per successor it shares a range
// with: for its j-th successor (j < r) the shared range is (pred_{r-j}, self]. The session
// sends that range's digest (count and XOR-sums of entry ids, 8 + 8 bytes and a varint).
// Equal digests end the round: one digest per shared range. Otherwise the responder
// answers with as many rateless IBLT coded symbols as fit a datagram; the initiator peels
// them against its own, asks for more in pages (sized from an estimate of the difference,
// a few pages in flight at once) if they do not yet decode, then sends the entries the
// responder lacks and the ids it wants, a datagram's worth per request, and receives those
// entries. When one side is empty or the difference is too large for coded symbols to pay
// off, the range is paged both ways instead. Coded symbols and id lookups come from the
// sync index (sync_index.h), kept current as entries arrive, so no step walks the store.
//
// Bytes. Every message here is packed against config().message_budget() with the
// wire-size helpers: lists are filled until the next item would not fit (Packer), and
// request ids, assigned after packing, are counted at their largest. Large transfers are
// pages with a window of requests in flight: pushes (hand-off, GC, paging), range pulls
// (split into streams over equal parts of the range), and catch-up, whose blocks larger
// than a datagram travel as pieces (BlockPiece) reassembled and verified whole.
//
// Bounds. Sessions, pulls and catch-ups are capped by PeerConfig; over a cap the oldest is
// dropped and counted. A session never outlives its round.
#include <algorithm>
#include <cassert>
#include <set>

#include "overlay.h"
#include "wire_util.h"

namespace kittengrad {

namespace {

constexpr std::size_t kBlocksPerCatchUpReply = 16;
constexpr std::size_t kGcLookupsPerRound = 4;
constexpr std::size_t kPullStreams = 4;  // a pull pages this many equal parts of a range at once
// Items a session's decoder peels per event: about a millisecond.
constexpr std::size_t kPeelsPerEvent = 1024;
// Request ids are assigned after a message is packed: pack as if they were the largest.
constexpr std::uint64_t kIdMax = UINT64_MAX;

using detail::varint_size;

// The wire size of a message as items are appended to its lists: each item adds its own
// bytes, and the count of its list may take another byte.
class Packer {
 public:
  Packer(std::size_t empty_size, std::size_t budget) : size_(empty_size), budget_(budget) {}
  // Counts an item of `bytes` into a list that holds `count` items, if it still fits.
  bool add(std::size_t bytes, std::size_t& count) {
    const std::size_t grown = size_ + bytes + varint_size(count + 1) - varint_size(count);
    if (grown > budget_) return false;
    size_ = grown;
    ++count;
    return true;
  }

 private:
  std::size_t size_;
  std::size_t budget_;
};

// A key's top 64 bits at `top`, the rest zero.
RingId at_top64(std::uint64_t top) { return RingId::from_u64(top); }

// (from, to] cut into up to n parts of about equal width (keys are uniform hashes, so about
// equal numbers of keys), in clockwise order.
std::vector<KeyRange> split_range(const KeyRange& r, std::size_t n) {
  const std::uint64_t width = r.from == r.to ? UINT64_MAX : r.to.top64() - r.from.top64();
  if (n <= 1 || width / n < 2) return {r};
  const std::uint64_t step = width / n;
  std::vector<KeyRange> out;
  RingId at = r.from;
  for (std::size_t k = 1; k < n; ++k) {
    const RingId cut = at_top64(r.from.top64() + step * k);
    out.push_back(KeyRange{at, cut});
    at = cut;
  }
  out.push_back(KeyRange{at, r.to});
  return out;
}

// The entries of r from cursor `c`, whole, while `pk` accepts them. Returns where the next
// page starts, or nothing when the range is done. A key whose entries do not fit one page
// is split inside (the cursor's skip).
std::optional<RangeCursor> read_range_page(const Store& store, const KeyRange& r,
                                           const RangeCursor& c, Packer& pk,
                                           std::vector<Entry>& out) {
  std::size_t count = 0;
  std::optional<RangeCursor> next;
  std::optional<RingId> last_whole = c.after;  // the last key sent whole (or passed)
  auto take = [&](const RingId& key, const KeySlot& slot, std::size_t first) {
    for (std::size_t i = first; i < slot.entries.size(); ++i) {
      if (!pk.add(entry_wire_size(slot.entries[i].entry), count)) {
        // Resume inside this key, or after the last key sent whole.
        next = i > 0 ? RangeCursor{key, static_cast<std::uint32_t>(i)} : RangeCursor{last_whole, 0};
        return false;
      }
      out.push_back(slot.entries[i].entry);
    }
    last_whole = key;
    return true;
  };
  if (c.after && *c.after == r.to) return std::nullopt;  // (to, to] would be the whole ring
  if (c.after && c.skip > 0) {
    if (const KeySlot* slot = store.find(*c.after)) {
      if (!take(*c.after, *slot, c.skip)) return next;
    }
    last_whole = c.after;
    if (*c.after == r.to) return std::nullopt;
  }
  const RingId start = c.after ? *c.after : r.from;
  store.scan_in(start, r.to, [&](const RingId& key, const KeySlot& slot) { return take(key, slot, 0); });
  // A page holds at least one entry (the budget is at least 480 bytes, an entry 176).
  assert((!next || !out.empty()) && "an entry larger than a datagram");
  return next;
}

// Wire bytes of a filtered block made from `b` keeping `kept` of its entries, without
// building it (building hashes every entry).
std::size_t filtered_size(const JournalBlock& b, std::size_t kept) {
  FilteredBlock bare;
  bare.header = b.header;
  std::size_t n = filtered_block_wire_size(bare) - varint_size(0) + varint_size(kept);
  n += 32 * b.entries.size() + 4 * kept;
  for (std::size_t i = 0; i < kept && i < b.entries.size(); ++i) n += entry_wire_size(b.entries[i]);
  return n;
}

std::vector<bool> keep_mask(const JournalBlock& b, const std::vector<KeyRange>& ranges,
                            std::size_t* kept) {
  std::vector<bool> keep(b.entries.size(), false);
  *kept = 0;
  for (std::size_t i = 0; i < b.entries.size(); ++i) {
    const RingId k = b.entries[i].key();
    for (const KeyRange& r : ranges) keep[i] = keep[i] || in_half_open(k, r.from, r.to);
    if (keep[i]) ++*kept;
  }
  return keep;
}

}  // namespace

bool Overlay::fits_budget(const Body& body) const {
  return wire_size(Message{ns_, body}) <= config().message_budget();
}

// ---- the sync index: arcs between known members ----

std::vector<KeyRange> Overlay::arcs() const {
  std::vector<KeyRange> out;
  if (!joined_ || left_) return out;
  const auto r = static_cast<std::size_t>(config().replication);
  RingId to = self().id;
  const std::size_t n = std::min(preds_.size(), r);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(KeyRange{preds_[i].id, to});
    to = preds_[i].id;
  }
  // A ring this small is all known: the last arc closes it (alone: the whole ring).
  if (whole_ring()) out.push_back(KeyRange{self().id, to});
  return out;
}

void Overlay::sync_step() {
  sync_.set_depth_max(config().riblt_symbols_max);
  sync_arcs();
  if (!ae_peeling_.empty()) {  // a slice of one session's decoding
    const std::uint64_t id = *ae_peeling_.begin();
    auto it = ae_sessions_.find(id);
    if (it == ae_sessions_.end()) {
      ae_peeling_.erase(id);
    } else {
      it->second.decoder.peel(kPeelsPerEvent);
      ae_after_peel(it->second);
    }
    return;
  }
  sync_.step();
}

// ---- anti-entropy: initiator ----

void Overlay::anti_entropy() {
  if (!joined_ || leaving_) return;
  sync_arcs();
  // A session still open from an earlier round has lost its way (a reply out of order, a
  // neighbour that went quiet between pages): it ends, and this round starts afresh.
  const Time stale = now() - std::max(config().anti_entropy_interval, config().request_timeout);
  for (auto it = ae_sessions_.begin(); it != ae_sessions_.end();) {
    if (it->second.opened <= stale) {
      bump(peer_.counters_.ae_evicted);
      ae_peeling_.erase(it->first);
      it = ae_sessions_.erase(it);
    } else {
      ++it;
    }
  }
  const auto r = static_cast<std::size_t>(config().replication);
  for (std::size_t j = 1; j < r && j <= succs_.size(); ++j) {
    KeyRange range{self().id, self().id};  // the whole ring when it has <= r peers
    if (!whole_ring()) {
      const std::size_t idx = r - 1 - j;
      if (idx >= preds_.size()) continue;
      range.from = preds_[idx].id;
    }
    while (!ae_sessions_.empty() && ae_sessions_.size() >= std::max<std::size_t>(config().ae_sessions_max, 1)) {
      ae_end(ae_sessions_.begin()->first);  // ids grow: the first is the oldest
      bump(peer_.counters_.ae_evicted);
    }
    const std::uint64_t id = next_id_++;
    AeSession& s = ae_sessions_[id];
    s.id = id;
    s.peer = succs_[j - 1];
    s.range = range;
    s.opened = now();
    s.in_flight = 1;
    bump(peer_.counters_.ae_rounds);
    AeDigest digest{0, range, store_.digest(range.from, range.to), journal_.height()};
    assert(fits_budget(digest));
    request(PendingKind::kAe, s.peer, std::move(digest), id, 0);
  }
}

void Overlay::ae_end(std::uint64_t id) {
  ae_sessions_.erase(id);
  ae_peeling_.erase(id);
}

void Overlay::on_reply(const Pending& p, const AeInSync& m) {
  auto it = ae_sessions_.find(p.owner);
  if (it == ae_sessions_.end()) return;
  bump(peer_.counters_.ae_in_sync);
  mark_seen(it->second.peer, m.journal_height);
  ae_end(p.owner);
}

std::size_t Overlay::symbols_per_page(const KeyRange& r, std::int64_t count) const {
  // A symbol's count is at most the larger side's entry count: its zigzag varint bounds
  // every symbol's size.
  // (Zigzag of any count of magnitude at most |count| is at most 2|count| + 1.)
  const std::uint64_t magnitude =
      count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
  const std::uint64_t widest = magnitude >= UINT64_MAX / 2 ? UINT64_MAX : 2 * magnitude + 1;
  const std::size_t per_symbol = varint_size(widest) + 16;
  AeSymbols empty{kIdMax, r, kIdMax, {}, count};
  const std::size_t base = wire_size(Message{ns_, empty}) + varint_size(config().riblt_symbols_max);
  const std::size_t budget = config().message_budget();
  return base >= budget ? 1 : std::max<std::size_t>((budget - base) / per_symbol, 1);
}

void Overlay::on_reply(const Pending& p, const AeSymbols& m) {
  auto it = ae_sessions_.find(p.owner);
  if (it == ae_sessions_.end()) return;
  AeSession& s = it->second;
  assert(s.in_flight > 0 && "an AE reply without a request in flight");
  --s.in_flight;
  if (s.exchanging) return ae_exchange_pages(s);  // a page that came after the decode
  // What this reply answers: the first symbols (a digest), or the page [from, to) asked.
  const auto* more = std::get_if<AeMore>(&p.message.body);
  const std::uint64_t from = more ? more->from : 0;
  const std::uint64_t to = more ? more->to : config().riblt_first_batch;
  if (m.range != s.range || m.from != from || m.symbols.size() > to - from ||
      (more && m.symbols.empty())) {
    // Out of order or not what was asked: the session ends now rather than wait.
    bump(peer_.counters_.malformed);
    bump(peer_.counters_.ae_evicted);
    return ae_end(s.id);
  }
  if (!more) {
    s.remote_count = m.count;
    const RangeDigest mine = store_.digest(s.range.from, s.range.to);
    if (m.count == 0 || mine.count == 0 || m.symbols.empty()) return ae_page_both_ways(s);
    const std::size_t depth = sync_.depth_available(s.range, m.count);
    std::optional<std::vector<CodedSymbol>> local;
    if (depth >= m.symbols.size()) local = sync_.symbols(s.range, 0, depth);
    if (!local) {
      bump(peer_.counters_.ae_busy);  // our symbols are still being built: the next round
      return ae_end(s.id);
    }
    s.local = std::move(*local);
  }
  const std::uint64_t end = from + m.symbols.size();
  if (s.remote.size() < end) {
    s.remote.resize(static_cast<std::size_t>(end));
    s.got.resize(static_cast<std::size_t>(end), false);
  }
  for (std::size_t i = 0; i < m.symbols.size(); ++i) {
    const auto k = static_cast<std::size_t>(from) + i;
    if (s.got[k]) continue;
    s.remote[k] = m.symbols[i];
    s.got[k] = true;
    ++s.got_count;
  }
  if (more && end < to) s.asks.emplace_back(end, to);  // a short page: the rest later
  // Feed the decoder what has arrived in order: each page's peeling happens as it comes.
  const std::size_t fed = s.fed;
  while (s.fed < s.remote.size() && s.got[s.fed]) ++s.fed;
  if (s.fed > fed) {
    assert(s.fed <= s.local.size());
    const auto a = static_cast<std::ptrdiff_t>(fed), b = static_cast<std::ptrdiff_t>(s.fed);
    s.decoder.add(std::vector<CodedSymbol>(s.remote.begin() + a, s.remote.begin() + b),
                  std::vector<CodedSymbol>(s.local.begin() + a, s.local.begin() + b),
                  kPeelsPerEvent);
  }
  ae_after_peel(s);
}

void Overlay::ae_after_peel(AeSession& s) {
  if (s.decoder.peeling()) {
    ae_peeling_.insert(s.id);  // the rest in slices, one per wakeup
    return;
  }
  ae_peeling_.erase(s.id);
  if (s.decoder.failed()) {
    bump(peer_.counters_.ae_evicted);  // a false peel (or a side that changed mid-session)
    return ae_end(s.id);
  }
  if (s.decoder.done()) {
    std::optional<Difference> diff = s.decoder.difference();
    if (!diff) {
      bump(peer_.counters_.ae_evicted);
      return ae_end(s.id);
    }
    s.asks.clear();
    return ae_finish(s, *diff);
  }
  if (s.in_flight > 0 || !s.asks.empty()) return ae_ask_symbols(s);
  ae_ask_more(s);
}

void Overlay::ae_ask_symbols(AeSession& s) {
  const std::size_t window = std::max<std::size_t>(config().transfer_window, 1);
  while (s.in_flight < window && !s.asks.empty()) {
    const auto [from, to] = s.asks.front();
    s.asks.erase(s.asks.begin());
    AeMore ask{0, s.range, from, to};
    assert(fits_budget(ask));
    ++s.in_flight;
    request(PendingKind::kAe, s.peer, std::move(ask), s.id, 0);
  }
}

void Overlay::ae_ask_more(AeSession& s) {
  assert(s.got_count == s.remote.size() && s.fed == s.remote.size());
  const std::uint64_t have = s.remote.size();
  const std::uint64_t estimate = s.decoder.estimate();
  const std::uint64_t want = std::max<std::uint64_t>(2 * have, 2 * estimate + 32);
  // Past our snapshot (or the configured maximum) coded symbols no longer pay: page.
  if (want > std::min<std::uint64_t>(config().riblt_symbols_max, s.local.size()))
    return ae_page_both_ways(s);
  const std::int64_t mine = store_.digest(s.range.from, s.range.to).count;
  const std::size_t page = symbols_per_page(s.range, std::max(mine, s.remote_count));
  for (std::uint64_t f = have; f < want; f += page) s.asks.emplace_back(f, std::min<std::uint64_t>(want, f + page));
  ++s.rounds;
  ae_ask_symbols(s);
}

void Overlay::ae_finish(AeSession& s, const Difference& diff) {
  bump(peer_.counters_.ae_reconciled);
  s.exchanging = true;
  for (const EntryId& id : diff.only_local) s.give.push_back(id.key);
  for (const EntryId& id : diff.only_remote) s.want.push_back(id.key);
  ae_exchange_pages(s);
}

void Overlay::ae_exchange_pages(AeSession& s) {
  const std::size_t budget = config().message_budget();
  // Ids asked per page: as many entries as one reply can carry.
  std::size_t reply_cap = 0;
  {
    Packer reply(wire_size(Message{ns_, AeEntries{kIdMax, {}}}), budget);
    while (reply.add(entry_wire_size(Entry{}), reply_cap)) {
    }
  }
  const std::size_t window = std::max<std::size_t>(config().transfer_window, 1);
  const std::size_t empty = wire_size(Message{ns_, AeExchange{kIdMax, s.range, {}, {}}});
  while (s.in_flight < window && (s.give_next < s.give.size() || s.want_next < s.want.size())) {
    AeExchange ex;
    ex.range = s.range;
    Packer pk(empty, budget);
    std::size_t wants = 0, gives = 0;
    while (s.want_next < s.want.size() && wants < reply_cap && pk.add(8, wants))
      ex.want.push_back(s.want[s.want_next++]);
    while (s.give_next < s.give.size()) {
      const std::vector<Entry> found = sync_.entries_with_ids(s.range, {s.give[s.give_next]}, 1);
      if (!found.empty() && !pk.add(entry_wire_size(found.front()), gives)) break;
      if (!found.empty()) ex.entries.push_back(found.front());
      ++s.give_next;  // sent, or no longer held here
    }
    if (ex.entries.empty() && ex.want.empty()) continue;  // the last gives were gone
    assert(fits_budget(ex));
    ++s.in_flight;
    request(PendingKind::kAe, s.peer, std::move(ex), s.id, 1);
  }
  if (s.in_flight == 0) {
    mark_seen(s.peer, s.peer_height);
    ae_end(s.id);
  }
}

void Overlay::on_reply(const Pending& p, const AeEntries& m) {
  apply_verified(m.entries, &RefusedEntries::ae_initiator);
  auto it = ae_sessions_.find(p.owner);
  if (it == ae_sessions_.end()) return;
  AeSession& s = it->second;
  assert(s.in_flight > 0 && "an AE reply without a request in flight");
  --s.in_flight;
  if (!s.exchanging) {  // entries where symbols were expected
    bump(peer_.counters_.malformed);
    return ae_end(s.id);
  }
  ae_exchange_pages(s);
}

void Overlay::ae_page_both_ways(AeSession& s) {
  bump(peer_.counters_.ae_paged);
  const NodeRef peer = s.peer;
  const KeyRange range = s.range;
  ae_end(s.id);
  start_pull(peer, range);
  if (store_.digest(range.from, range.to).count > 0) push_range(peer, range, nullptr);
}

// ---- anti-entropy: responder ----

void Overlay::handle(Address from, const AeDigest& m) {
  const RangeDigest mine = store_.digest(m.range.from, m.range.to);
  if (mine == m.digest) return send(from, AeInSync{m.session, journal_.height()});
  AeSymbols reply;
  reply.session = m.session;
  reply.range = m.range;
  reply.count = mine.count;
  if (mine.count != 0 && m.digest.count != 0) {
    sync_arcs();
    const std::uint64_t n = std::min<std::uint64_t>(
        config().riblt_first_batch, symbols_per_page(m.range, std::max(mine.count, m.digest.count)));
    if (!fill_symbols(reply, 0, n)) return refuse_busy(from, m.session);
  }
  send(from, std::move(reply));
}

bool Overlay::fill_symbols(AeSymbols& reply, std::uint64_t from, std::uint64_t to) {
  std::optional<std::vector<CodedSymbol>> symbols = sync_.symbols(reply.range, from, to);
  if (!symbols) return false;
  Packer pk(wire_size(Message{ns_, reply}), config().message_budget());
  std::size_t count = 0;
  for (const CodedSymbol& c : *symbols) {
    if (!pk.add(coded_symbol_wire_size(c), count)) break;
    reply.symbols.push_back(c);
  }
  return true;
}

void Overlay::refuse_busy(Address to, std::uint64_t session) {
  bump(peer_.counters_.ae_busy);
  send(to, Refused{session, ErrorCode::kOverloaded});
}

void Overlay::handle(Address from, const AeMore& m) {
  if (m.to <= m.from || m.to > config().riblt_symbols_max) {
    bump(peer_.counters_.malformed);
    return send(from, Refused{m.session, ErrorCode::kBadRequest});
  }
  AeSymbols reply;
  reply.session = m.session;
  reply.range = m.range;
  reply.from = m.from;
  reply.count = store_.digest(m.range.from, m.range.to).count;
  const std::uint64_t to =
      std::min<std::uint64_t>(m.to, m.from + symbols_per_page(m.range, reply.count));
  sync_arcs();
  if (!fill_symbols(reply, m.from, to)) return refuse_busy(from, m.session);
  send(from, std::move(reply));
}

void Overlay::handle(Address from, const AeExchange& m) {
  apply_verified(m.entries, &RefusedEntries::ae_responder);
  AeEntries reply;
  reply.session = m.session;
  if (!m.want.empty()) {
    sync_arcs();
    Packer pk(wire_size(Message{ns_, reply}), config().message_budget());
    std::size_t count = 0;
    for (Entry& e : sync_.entries_with_ids(m.range, m.want, m.want.size())) {
      if (!pk.add(entry_wire_size(e), count)) break;  // the rest: a later round
      reply.entries.push_back(std::move(e));
    }
  }
  send(from, std::move(reply));
}

// ---- paging and pushes ----

void Overlay::start_pull(const NodeRef& from, const KeyRange& range) {
  for (const KeyRange& part : split_range(range, kPullStreams)) {
    while (!pulls_.empty() && pulls_.size() >= std::max<std::size_t>(config().range_pulls_max, 1)) {
      pulls_.erase(pulls_.begin());  // the oldest stream: anti-entropy repairs what it missed
      bump(peer_.counters_.pulls_evicted);
    }
    const std::uint64_t id = next_id_++;
    pulls_[id] = PullOp{id, from, part};
    request(PendingKind::kRangePull, from, RangePull{0, part, std::nullopt, 0}, id,
            config().request_retries);
  }
}

void Overlay::handle(Address from, const RangePull& m) {
  if (m.after && !in_half_open(*m.after, m.range.from, m.range.to)) {
    bump(peer_.counters_.malformed);
    return send(from, Refused{m.req, ErrorCode::kBadRequest});
  }
  RangeEntries reply;
  reply.req = m.req;
  // Packed as if the page ends inside a key: `next` and the largest skip.
  RangeEntries largest{m.req, {}, RingId{}, UINT32_MAX};
  Packer pk(wire_size(Message{ns_, largest}), config().message_budget());
  if (auto next = read_range_page(store_, m.range, RangeCursor{m.after, m.skip}, pk, reply.entries)) {
    reply.next = next->after ? *next->after : m.range.from;
    reply.next_skip = next->skip;
  }
  send(from, std::move(reply));
}

void Overlay::on_reply(const Pending& p, const RangeEntries& m) {
  apply_verified(m.entries, &RefusedEntries::range_page);
  auto it = pulls_.find(p.owner);
  if (it == pulls_.end()) return;
  const auto* asked = std::get_if<RangePull>(&p.message.body);
  const bool same_place = asked && m.next && asked->after == m.next && asked->skip == m.next_skip;
  if (!m.next || same_place) {  // done, or a page that does not move on
    pulls_.erase(it);
    return;
  }
  request(PendingKind::kRangePull, it->second.from,
          RangePull{0, it->second.range, m.next, m.next_skip}, it->first, config().request_retries);
}

void Overlay::push(const std::vector<NodeRef>& targets, const std::vector<Entry>& entries,
                   std::function<void(bool)> on_done) {
  const std::uint64_t id = next_id_++;
  PushOp& op = pushes_[id];
  op.id = id;
  op.on_done = std::move(on_done);
  op.targets = targets;
  op.entries = entries;
  push_pump(id);
}

void Overlay::push_range(const NodeRef& target, const KeyRange& range,
                         std::function<void(bool)> on_done) {
  const std::uint64_t id = next_id_++;
  PushOp& op = pushes_[id];
  op.id = id;
  op.on_done = std::move(on_done);
  op.targets = {target};
  op.range = range;
  push_pump(id);
}

void Overlay::push_pump(std::uint64_t id) {
  auto it = pushes_.find(id);
  if (it == pushes_.end()) return;
  PushOp& op = it->second;
  const std::size_t window = std::max<std::size_t>(config().transfer_window, 1);
  const std::size_t empty = wire_size(Message{ns_, Replicate{kIdMax, {}}});
  while (op.waiting < window && op.target < op.targets.size()) {
    const NodeRef to = op.targets[op.target];
    Replicate page;
    Packer pk(empty, config().message_budget());
    if (op.range) {
      if (op.range_done) {
        ++op.target;
        continue;
      }
      auto next = read_range_page(store_, *op.range, op.cursor, pk, page.entries);
      if (next) {
        op.cursor = *next;
      } else {
        op.range_done = true;
      }
    } else {
      std::size_t n = 0;
      while (op.next < op.entries.size() && pk.add(entry_wire_size(op.entries[op.next]), n))
        page.entries.push_back(op.entries[op.next++]);
      if (n == 0 && op.next < op.entries.size()) {
        assert(false && "an entry larger than a datagram");
        ++op.next;
      }
      if (op.next == op.entries.size()) {
        ++op.target;
        op.next = 0;
      }
    }
    if (page.entries.empty()) continue;
    assert(fits_budget(page));
    ++op.waiting;
    request(PendingKind::kPush, to, std::move(page), id, config().request_retries);
  }
  if (op.waiting == 0 && op.target >= op.targets.size()) {
    auto done = std::move(op.on_done);
    const bool all = op.all_acked;
    pushes_.erase(it);
    if (done) done(all);
  }
}

void Overlay::on_push_ack(std::uint64_t id, bool ok) {
  auto it = pushes_.find(id);
  if (it == pushes_.end()) return;
  assert(it->second.waiting > 0 && "a push acknowledged more pages than it sent");
  --it->second.waiting;
  if (!ok) it->second.all_acked = false;
  push_pump(id);
}

// ---- garbage collection: keys that left our range go to their replicas, then away ----

void Overlay::collect_garbage() {
  const std::optional<RingId> start = range_start();
  if (!start || leaving_) return;  // our range is not known for sure: keep everything
  // Planted bug gc_erases_own_keys (tests only): only the primary range counts as ours.
  const RingId from = config().bugs.gc_erases_own_keys ? preds_.front().id : *start;
  std::vector<RingId> keys = store_.keys_outside(from, self().id, config().gc_keys_per_round);
  std::erase_if(keys, [&](const RingId& k) { return gc_in_flight_.count(k) > 0; });
  if (keys.empty()) return;
  // Keys come in ring order. Split them into a few chunks; each chunk's first key is
  // looked up, and the keys of the chunk that share its replica set are handed on. Keys
  // scattered over many ranges (a peer back from a partition) take several rounds.
  const std::size_t chunks = std::min(kGcLookupsPerRound, keys.size());
  const std::size_t per_chunk = (keys.size() + chunks - 1) / chunks;
  for (std::size_t c = 0; c * per_chunk < keys.size(); ++c) {
    const auto first = keys.begin() + static_cast<std::ptrdiff_t>(c * per_chunk);
    const auto last = keys.begin() + static_cast<std::ptrdiff_t>(
                                         std::min(keys.size(), (c + 1) * per_chunk));
    std::vector<RingId> chunk(first, last);
    for (const RingId& k : chunk) gc_in_flight_.insert(k);
    auto hand_on = [this, chunk](bool ok, std::vector<NodeRef> replicas, std::uint32_t) {
      std::vector<RingId> run;
      for (const RingId& k : chunk) {
        if (ok && !replicas.empty() &&
            (k == chunk.front() || in_half_open(k, chunk.front(), replicas.front().id))) {
          run.push_back(k);
        } else {
          gc_in_flight_.erase(k);  // another replica set: a later round takes it
        }
      }
      if (!run.empty()) gc_hand_on(run, replicas);
    };
    if (auto reps = local_replicas(chunk.front())) {
      hand_on(true, *reps, 0);
    } else {
      start_lookup(chunk.front(), hand_on);
    }
  }
}

void Overlay::gc_hand_on(const std::vector<RingId>& keys, const std::vector<NodeRef>& replicas) {
  const bool still_ours = std::any_of(replicas.begin(), replicas.end(),
                                      [&](const NodeRef& n) { return n.id == self().id; });
  const bool own_too = config().bugs.gc_erases_own_keys;  // planted bug (tests only)
  const bool too_few = replicas.size() < static_cast<std::size_t>(config().replication);
  if ((still_ours && !own_too) || too_few) {
    for (const RingId& k : keys) gc_in_flight_.erase(k);
    return;
  }
  std::vector<Entry> entries;
  for (const RingId& k : keys) {
    const std::vector<Entry> e = entries_of(k);
    entries.insert(entries.end(), e.begin(), e.end());
  }
  push(replicas, entries, [this, keys, own_too](bool all_acked) {
    for (const RingId& k : keys) {
      gc_in_flight_.erase(k);
      if (config().bugs.gc_keeps_keys) continue;  // planted bug (tests only): kept
      // Dropped only once every replica holds it durably, and if it is still not ours.
      if (!all_acked || (is_replica(k) && !own_too)) continue;
      sync_.before_erase(k);
      if (store_.erase_key(k) > 0) ++store_version_;
    }
  });
}

// ---- catch-up from neighbours' journals after downtime ----

void Overlay::start_catch_up() {
  const std::optional<RingId> start = range_start();
  const RingId from = start ? *start : (preds_.empty() ? self().id : preds_.back().id);
  const KeyRange mine{from, self().id};
  std::vector<NodeRef> neighbours = succs_;
  neighbours.insert(neighbours.end(), preds_.begin(), preds_.end());
  std::set<RingId> asked;  // in a small ring a neighbour is both a successor and a predecessor
  for (const NodeRef& n : neighbours) {
    if (!asked.insert(n.id).second) continue;
    auto seen = seen_heights_.find(n.id);
    if (seen == seen_heights_.end()) continue;
    while (!catch_ups_.empty() && catch_ups_.size() >= std::max<std::size_t>(config().catch_ups_max, 1)) {
      catch_ups_.erase(catch_ups_.begin());  // the oldest; anti-entropy covers the rest
      bump(peer_.counters_.catch_ups_evicted);
    }
    const std::uint64_t id = next_id_++;
    CatchUpOp& op = catch_ups_[id];
    op = CatchUpOp{id, n, seen->second, std::nullopt, {mine}, std::nullopt, 0};
    catch_up_next(op);
  }
}

void Overlay::catch_up_next(CatchUpOp& op) {
  CatchUp ask{0, op.since, op.ranges, 0, 0, budget_bytes()};
  assert(fits_budget(ask));
  ++op.in_flight;
  request(PendingKind::kCatchUp, op.from, std::move(ask), op.id, config().request_retries);
}

void Overlay::catch_up_pump(CatchUpOp& op) {
  assert(op.partial);
  const std::size_t window = std::max<std::size_t>(config().transfer_window, 1);
  Reassembly& r = *op.partial;
  while (op.in_flight < window && !r.asks.empty()) {
    const auto [from, to] = r.asks.front();
    r.asks.erase(r.asks.begin());
    CatchUp ask{0, op.since, op.ranges, from, to, budget_bytes()};
    ++op.in_flight;
    request(PendingKind::kCatchUp, op.from, std::move(ask), op.id, config().request_retries);
  }
}

namespace {

// A piece of block b: its entries from `first` while the reply fits the budget, up to `to`.
BlockPiece make_piece(const JournalBlock& b, const std::vector<bool>& keep, std::uint32_t first,
                      std::uint32_t to, std::size_t reply_empty, std::size_t budget) {
  BlockPiece p;
  p.height = b.header.height;
  p.first = first;
  p.count = to;  // sized at its largest while packing
  if (first == 0) {
    p.header = b.header;
    p.signature = b.signature;
  }
  FilteredBlock bare;
  bare.header = b.header;
  const std::size_t header_bytes = filtered_block_wire_size(bare) - varint_size(0);
  // The reply with an empty piece: the piece's fixed fields and its two empty lists.
  std::size_t empty = reply_empty + varint_size(p.height) + 1 + varint_size(first) +
                      varint_size(to) + 1 + 1 + (p.header ? header_bytes : 0);
  Packer pk(empty, budget);
  std::size_t included = 0, hashes = 0;
  std::uint32_t i = first;
  for (; i < to; ++i) {
    if (keep[i]) {
      if (!pk.add(varint_size(i - first) + entry_wire_size(b.entries[i]), included)) break;
      p.positions.push_back(i);
      p.included.push_back(b.entries[i]);
    } else {
      if (!pk.add(32, hashes)) break;
      p.hashes.push_back(entry_hash(b.entries[i]));
    }
  }
  p.count = i - first;
  assert(p.count > 0 && "a piece holds at least one entry");
  return p;
}

}  // namespace

void Overlay::handle(Address from, const CatchUp& m) {
  CatchUpReply reply;
  reply.req = m.req;
  reply.head_height = journal_.height();
  // The smaller budget of the two; one below the smallest allowed is read as that.
  const std::size_t floor = kMaxDatagramBytesMin - kTransportOverheadBytes;
  const std::size_t asked = m.max_bytes == 0 ? config().message_budget()
                                             : std::max<std::size_t>(m.max_bytes, floor);
  const std::size_t budget = std::min(config().message_budget(), asked);
  if (m.to_entry > 0) {  // one piece of block since + 1
    const JournalBlock* b = m.since_height < journal_.height() ? journal_.block(m.since_height + 1) : nullptr;
    if (b == nullptr || m.from_entry >= m.to_entry || m.to_entry > b->entries.size()) {
      bump(peer_.counters_.malformed);
      return send(from, Refused{m.req, ErrorCode::kBadRequest});
    }
    std::size_t kept = 0;
    const std::vector<bool> keep = keep_mask(*b, m.ranges, &kept);
    reply.more = true;
    reply.piece = make_piece(*b, keep, m.from_entry, m.to_entry, wire_size(Message{ns_, reply}), budget);
    assert(wire_size(Message{ns_, reply}) <= budget);
    return send(from, std::move(reply));
  }
  reply.more = true;  // counted at its size; cleared below when the journal is done
  Packer pk(wire_size(Message{ns_, reply}), budget);
  std::size_t blocks = 0;
  reply.more = false;
  for (std::uint64_t h = m.since_height + 1; h <= journal_.height(); ++h) {
    if (reply.blocks.size() == kBlocksPerCatchUpReply) {
      reply.more = true;
      break;
    }
    const JournalBlock& b = *journal_.block(h);
    std::size_t kept = 0;
    const std::vector<bool> keep = keep_mask(b, m.ranges, &kept);
    if (pk.add(filtered_size(b, kept), blocks)) {
      reply.blocks.push_back(filter_block(b, keep));
      continue;
    }
    reply.more = true;
    if (reply.blocks.empty()) {  // too large for a datagram: its first piece
      reply.piece = make_piece(b, keep, 0, static_cast<std::uint32_t>(b.entries.size()),
                               wire_size(Message{ns_, reply}), budget);
    }
    break;
  }
  assert(wire_size(Message{ns_, reply}) <= budget);
  send(from, std::move(reply));
}

void Overlay::on_reply(const Pending& p, const CatchUpReply& m) {
  auto it = catch_ups_.find(p.owner);
  if (it == catch_ups_.end()) return;
  CatchUpOp& op = it->second;
  assert(op.in_flight > 0 && "a catch-up reply without a request in flight");
  --op.in_flight;
  const auto* asked = std::get_if<CatchUp>(&p.message.body);
  if (asked == nullptr) return;
  if (m.piece) return catch_up_piece(op, *asked, *m.piece, wire_size(Message{ns_, m}));
  if (asked->to_entry > 0 || op.partial) {  // blocks where a piece was asked
    bump(peer_.counters_.malformed);
    catch_ups_.erase(it);
    return;
  }
  for (const FilteredBlock& b : m.blocks) {
    const bool linked = b.header.height == op.since + 1 && (!op.prev || b.header.prev == *op.prev);
    if (RingId::of_bytes(b.header.author) != op.from.id || !linked ||
        !verify_filtered_block(b).ok()) {
      bump(peer_.counters_.bad_blocks);  // refuse the rest of this neighbour's answer
      catch_ups_.erase(it);
      return;
    }
    apply_verified(b.included, &RefusedEntries::catch_up);
    op.prev = block_hash(b.header, b.signature);
    op.since = b.header.height;
  }
  mark_seen(op.from, op.since);
  if (!m.more || m.blocks.empty()) {
    catch_ups_.erase(it);
    return;
  }
  catch_up_next(op);
}

void Overlay::catch_up_piece(CatchUpOp& op, const CatchUp& asked, const BlockPiece& piece,
                             std::size_t reply_bytes) {
  const std::uint64_t id = op.id;
  auto refuse = [&](std::uint64_t& counter) {
    bump(counter);
    catch_ups_.erase(id);
  };
  const std::uint64_t height = op.since + 1;
  if (piece.height != height || piece.first != asked.from_entry) return refuse(peer_.counters_.malformed);
  if (!op.partial) {
    if (piece.first != 0 || !piece.header || asked.to_entry != 0) return refuse(peer_.counters_.malformed);
    const BlockHeader& h = *piece.header;
    const bool linked = h.height == height && (!op.prev || h.prev == *op.prev);
    if (RingId::of_bytes(h.author) != op.from.id || !linked || h.entry_count == 0)
      return refuse(peer_.counters_.bad_blocks);
    if (std::size_t{h.entry_count} * 32 > config().reassembly_bytes_max)
      return refuse(peer_.counters_.reassembly_refused);
    Reassembly r;
    r.height = height;
    r.header = h;
    r.signature = piece.signature;
    r.hashes.resize(h.entry_count);
    r.have.resize(h.entry_count, false);
    // Later pieces carry no header, and the first may have left room unused: they hold
    // about that much more of the block. (An ask too large comes back short; the rest is
    // asked again.)
    std::size_t body = 0;
    for (const Entry& e : piece.included) body += entry_wire_size(e) + 1;
    body += 32 * piece.hashes.size();
    FilteredBlock bare;
    bare.header = h;
    const std::size_t room = filtered_block_wire_size(bare) +
                             (config().message_budget() > reply_bytes ? config().message_budget() - reply_bytes : 0);
    const std::size_t per_entry = std::max<std::size_t>(body / std::max<std::uint32_t>(piece.count, 1), 1);
    r.piece_entries = static_cast<std::uint32_t>(std::max<std::size_t>(piece.count + room / per_entry, 1));
    op.partial = std::move(r);
  } else if (piece.header) {
    return refuse(peer_.counters_.malformed);  // only the first piece carries the header
  }
  Reassembly& r = *op.partial;
  const std::uint32_t n = r.header.entry_count;
  const std::uint32_t asked_to = asked.to_entry > 0 ? asked.to_entry : n;
  const std::uint64_t end = std::uint64_t{piece.first} + piece.count;
  if (piece.count == 0 || end > asked_to || piece.included.size() != piece.positions.size() ||
      piece.included.size() + piece.hashes.size() != piece.count) {
    return refuse(peer_.counters_.malformed);
  }
  std::size_t inc = 0, hash = 0;
  for (std::uint32_t pos = piece.first; pos < end; ++pos) {
    Hash256 h;
    if (inc < piece.positions.size() && piece.positions[inc] == pos) {
      h = entry_hash(piece.included[inc++]);
    } else if (hash < piece.hashes.size()) {
      h = piece.hashes[hash++];
    } else {
      return refuse(peer_.counters_.malformed);  // positions out of order or out of the piece
    }
    r.hashes[pos] = h;
    if (!r.have[pos]) {
      r.have[pos] = true;
      ++r.have_count;
    }
  }
  if (inc != piece.positions.size()) return refuse(peer_.counters_.malformed);
  // Entries verify on their own signatures: applied now, whatever the block turns out to be.
  apply_verified(piece.included, &RefusedEntries::catch_up);
  if (asked.to_entry == 0) {
    // The first piece: the rest of the block in asks of about its size, several in flight.
    for (std::uint64_t f = end; f < n; f += r.piece_entries)
      r.asks.emplace_back(static_cast<std::uint32_t>(f),
                          static_cast<std::uint32_t>(std::min<std::uint64_t>(n, f + r.piece_entries)));
  } else if (end < asked_to) {
    r.asks.emplace_back(static_cast<std::uint32_t>(end), asked_to);  // short: the rest later
  }
  if (r.have_count < n) {
    catch_up_pump(op);
    if (op.in_flight == 0) refuse(peer_.counters_.malformed);  // nothing left to ask: stuck
    return;
  }
  FilteredBlock whole;
  whole.header = r.header;
  whole.signature = r.signature;
  whole.entry_hashes = std::move(r.hashes);
  if (!verify_filtered_block(whole).ok()) return refuse(peer_.counters_.bad_blocks);
  op.prev = block_hash(whole.header, whole.signature);
  op.since = height;
  op.partial.reset();
  mark_seen(op.from, op.since);
  if (op.in_flight == 0) catch_up_next(op);
}

void Overlay::mark_seen(const NodeRef& n, std::uint64_t height) {
  std::uint64_t& seen = seen_heights_[n.id];
  if (height <= seen) return;
  seen = height;
  persist({StorageRecord{ns_, NeighbourMark{n.id, height}}}, nullptr);
}

}  // namespace kittengrad
