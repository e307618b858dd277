// queue_net.h — the "queue" network model: every host's up link and down link is a
// drop-tail FIFO queue of its access rate, and a datagram is one packet, not a flow.
//
// Why: as SimGrid flows (model "flow"), concurrent datagrams share links max-min fairly,
// and when links are busy the flows chain hosts into one large constraint component that
// SimGrid re-solves at every flow start and end; at 3,000 peers on 20 Mb/s links that
// solver took 67% of the run. A packet on a real access link waits in a FIFO queue and
// leaves at the link's rate: O(1) per datagram, no solver.
//
// The model, for a datagram of s bytes sent at time t from host a (rate b_a) to host b
// (rate b_b), with one-way latency L(a, b) from the platform's latency model:
//
//   up link     leaves at     U = max(t, up_free[a]) + s / b_a;   up_free[a] = U
//   the core    arrives at    A = U + L(a, b)            (its last bit, at b's down link)
//   down link   delivered at  D = max(max(A - s / b_a, down_free[b]) + s / b_b, A)
//                                                          down_free[b] = D
//
// The down link forwards as the bits come in (cut-through: it starts with the first bit,
// at A - s / b_a, or when the datagram before it has left), so a lone datagram takes
// L + s / min(b_a, b_b), the closed form that SimGrid's flow model also gives, and k
// datagrams sent at once from a take L + i * s / b_a (i = 1..k) when a's up link is the
// only bottleneck. The down link serves datagrams in order of A, so b processes arrivals
// only once the clock reaches A: a datagram sent later on a shorter path may arrive first.
//
// Queues are bounded: a datagram is dropped (drop-tail) when the bytes still waiting on
// its link plus its own exceed queue_bytes, unless the link is idle (a link always holds
// the packet it sends). Waiting bytes are (free - now) * rate. Drops are counted by kind.
//
// SimGrid still runs the actors and the clock: a receiving actor sleeps on a Semaphore
// until its next deadline, its next arrival A or its next delivery D; a sender whose
// datagram arrives before the receiver would wake on its own releases the semaphore, and
// the receiver goes back to sleep until the new, earlier time. No communication, no flow,
// no LMM action per datagram. Deterministic: ties are broken by a sequence number.
//
// Ownership: a message belongs to the QueueNet from send() until wait_until() returns it
// (the caller then owns it); dropped messages and those never collected are deleted here.
//
//   QueueNet<Datagram> net(rates, latency, 256 * 1024, kinds);
//   net.send(from_host, to_host, new Datagram{...}, bytes, kind);     // in any actor
//   std::unique_ptr<Datagram> d(net.wait_until(my_host, deadline_s));  // in host's actor
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <queue>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Semaphore.hpp>
#include <utility>
#include <vector>

#include "platform.h"

namespace kittengrad::sim {

template <typename T>
class QueueNet {
 public:
  // Host k's links run at rate_Bps[k] bytes/s; `kinds` is the number of datagram kinds
  // that drops are counted by.
  QueueNet(std::vector<double> rate_Bps, PairLatency latency, std::uint64_t queue_bytes,
           std::size_t kinds)
      : latency_(std::move(latency)),
        queue_bytes_(static_cast<double>(queue_bytes)),
        drops_by_kind_(kinds, 0) {
    hosts_.reserve(rate_Bps.size());
    for (double r : rate_Bps) hosts_.push_back(Host{r});
  }
  QueueNet(const QueueNet&) = delete;
  QueueNet& operator=(const QueueNet&) = delete;
  ~QueueNet() {
    for (Host& h : hosts_) {
      for (auto* q : {&h.arriving, &h.ready}) {
        while (!q->empty()) {
          delete q->top().msg;
          q->pop();
        }
      }
    }
  }

  // Sends `msg` (ownership passes here) of `bytes` from host `from` to host `to`. Returns
  // false when `from`'s up link queue is full: the message is dropped and counted.
  bool send(std::size_t from, std::size_t to, T* msg, std::uint64_t bytes, std::size_t kind) {
    const double now = simgrid::s4u::Engine::get_clock();
    Host& src = hosts_[from];
    const double s = static_cast<double>(bytes);
    if (full(src.up_free, now, src.rate_Bps, s)) {
      drop(msg, kind);
      return false;
    }
    const double serial = s / src.rate_Bps;
    src.up_free = std::max(now, src.up_free) + serial;
    const double arrive = src.up_free + latency_.seconds(from, to);
    Host& dst = hosts_[to];
    dst.arriving.push(Pending{arrive, seq_++, msg, bytes, serial, kind});
    if (arrive < dst.wake_at) wake(dst);
    return true;
  }

  // Hands `msg` to host `to` now, outside the links (a local nudge between actors of one
  // host, which SimGrid's loopback made cost a latency in the flow model).
  void nudge(std::size_t to, T* msg) {
    const double now = simgrid::s4u::Engine::get_clock();
    Host& dst = hosts_[to];
    dst.ready.push(Pending{now, seq_++, msg, 0, 0, 0});
    if (now < dst.wake_at) wake(dst);
  }

  // Blocks the calling actor (the only one that receives for `host`) until a message is
  // delivered to `host` (returns it; the caller owns it) or the clock reaches deadline_s
  // (returns nullptr; +inf waits for a message only). With the deadline already reached,
  // returns a message delivered by now, if any, without blocking.
  [[nodiscard]] T* wait_until(std::size_t host, double deadline_s) {
    Host& h = hosts_[host];
    while (true) {
      const double now = simgrid::s4u::Engine::get_clock();
      admit(h, now);
      if (!h.ready.empty() && h.ready.top().at <= now) {
        T* msg = h.ready.top().msg;
        h.ready.pop();
        return msg;
      }
      if (deadline_s <= now) return nullptr;
      double next = deadline_s;
      if (!h.arriving.empty()) next = std::min(next, h.arriving.top().at);
      if (!h.ready.empty()) next = std::min(next, h.ready.top().at);
      h.wake_at = next;
      if (std::isinf(next)) {
        h.signal->acquire();
      } else {
        // A timeout of next - now lands on next up to one rounding; the loop absorbs it.
        static_cast<void>(h.signal->acquire_timeout(next - now));
      }
      h.wake_at = kNotWaiting;
    }
  }

  // Datagrams dropped at full queues, by kind, since the start.
  [[nodiscard]] const std::vector<std::uint64_t>& drops_by_kind() const { return drops_by_kind_; }
  [[nodiscard]] std::uint64_t drops() const { return drops_; }

 private:
  // No actor waits: senders need not wake anyone (the receiver looks when it next runs).
  static constexpr double kNotWaiting = -std::numeric_limits<double>::infinity();

  struct Pending {
    double at;           // arriving: A; ready: D
    std::uint64_t seq;   // send order, to break ties
    T* msg;
    std::uint64_t bytes;
    double serial_up;    // s / b_a: how long its bits took to come in
    std::size_t kind;
  };
  struct Later {
    bool operator()(const Pending& a, const Pending& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };
  using Heap = std::priority_queue<Pending, std::vector<Pending>, Later>;

  struct Host {
    explicit Host(double rate) : rate_Bps(rate) {}
    double rate_Bps;
    double up_free = 0;    // when the up link has sent all it accepted
    double down_free = 0;  // when the down link has delivered all it accepted
    Heap arriving;         // by A: not yet on the down link
    Heap ready;            // by D: on the down link, delivered at D
    double wake_at = kNotWaiting;  // when the waiting actor wakes on its own
    simgrid::s4u::SemaphorePtr signal = simgrid::s4u::Semaphore::create(0);
  };

  // Whether a link busy until `free` has no room at `now` for `bytes` more.
  [[nodiscard]] bool full(double free, double now, double rate, double bytes) const {
    const double waiting = (free - now) * rate;
    return waiting > 0 && waiting + bytes > queue_bytes_;
  }

  // Moves the arrivals due by `now` onto the down link, in order of arrival.
  void admit(Host& h, double now) {
    while (!h.arriving.empty() && h.arriving.top().at <= now) {
      Pending p = h.arriving.top();
      h.arriving.pop();
      const double s = static_cast<double>(p.bytes);
      if (full(h.down_free, p.at, h.rate_Bps, s)) {
        drop(p.msg, p.kind);
        continue;
      }
      const double start = std::max(p.at - p.serial_up, h.down_free);
      h.down_free = std::max(start + s / h.rate_Bps, p.at);
      p.at = h.down_free;
      h.ready.push(p);
    }
  }

  void wake(Host& h) {
    h.wake_at = kNotWaiting;  // one release per sleep; the woken actor sets it again
    h.signal->release();
  }

  void drop(T* msg, std::size_t kind) {
    delete msg;
    ++drops_;
    if (kind < drops_by_kind_.size()) ++drops_by_kind_[kind];
  }

  std::vector<Host> hosts_;
  PairLatency latency_;
  double queue_bytes_;
  std::vector<std::uint64_t> drops_by_kind_;
  std::uint64_t drops_ = 0;
  std::uint64_t seq_ = 0;
};

}  // namespace kittengrad::sim
