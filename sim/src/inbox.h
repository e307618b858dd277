// inbox.h — an actor's receive loop that loses no message and delivers each one when it
// arrives, and datagram sends that never block.
//
// Two SimGrid 3.32 pitfalls shape it.
//
// 1. Timeouts lose messages. Comm::wait_for(timeout) (and Mailbox::get with a timeout)
//    arms a timer *on the communication*: when it fires, the communication fails, even if
//    the message was already matched and in transfer, and the message is gone.
//    Comm::wait_any_for() arms the timer on the *waiting actor* instead: on timeout the
//    actor wakes up with -1 and the communication stays posted (ActivityImpl::wait_any_for
//    in src/kernel/activity/ActivityImpl.cpp, tag v3.32). So we wait with wait_any_for and
//    keep what is posted for the next call.
//
// 2. One posted receive delivers in *send* order. With an eager mailbox
//    (Mailbox::set_receiver), a send that finds no posted receive starts its transfer at
//    once and waits in the mailbox's queue of early messages; a receive posted later takes
//    the *oldest* of them, finished or not. So a datagram from a far peer, still in flight,
//    holds back one from a near peer that arrived long before it: we measured a 10 ms
//    message delivered at 200 ms behind a 200 ms one. Hence several receives: the Inbox
//    keeps one posted receive bound to every message in flight to it, plus a few unbound
//    "spare" ones for messages sent while it sleeps, and waits on all of them at once, so
//    each message is delivered when its own transfer ends. After each wake-up it posts
//    receives again until enough are unbound (a fresh receive first binds to any early
//    message, so this also picks up those that came while no spare was left: uncovered()
//    counts them; they are late only if they arrived before that wake-up, and the Inbox
//    then doubles its spares).
//
// Order: in order of arrival. Two datagrams from one sender may overtake each other when
// the second is smaller and their transfers overlap, as UDP allows.
//
// Sending: Inbox::send(), from the actor that owns the Inbox. Its sends are *not*
// detached, and the Inbox waits on them together with its receives. SimGrid 3.32 files
// every detached communication in one list of the whole engine (the maestro's
// activities_, a std::list) and removes it with list::remove when the transfer ends, and
// again when the receiver collects it: two full scans of all datagrams in flight per
// datagram. At 100,000 peers, with a few thousand datagrams in flight on Internet
// latencies, those scans took 42% of the run. A send the actor waits on is filed in that
// actor's own short list instead; the price is one wakeup when the transfer ends. Actors
// that live only for a moment (control actors) use send_datagram(), detached: a
// non-detached send is cancelled when its actor ends.
//
//   auto* mb = simgrid::s4u::Mailbox::by_name("p17");
//   mb->set_receiver(simgrid::s4u::Actor::self());     // eager: senders never wait for us
//   Inbox<Datagram> inbox(mb);
//   while (running) {
//     std::unique_ptr<Datagram> d(inbox.wait_until(next_timer_s));
//     if (d) handle(*d); else fire_timers();
//   }
//   inbox.send(simgrid::s4u::Mailbox::by_name("p3"), new Datagram{...}, 120);
//   mb->set_receiver(nullptr);
//
// Ownership: a message belongs to its sender until send_datagram(), to SimGrid while in
// flight (SimGrid deletes it if the transfer fails or is cancelled), and to the receiver
// once wait_until() returns it. A message sent with Inbox::send() whose transfer fails is
// deleted by the sending Inbox.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Mailbox.hpp>
#include <vector>

namespace kittengrad::sim {

// Unbound receives an Inbox keeps posted: messages sent to it while it sleeps beyond this
// many are "uncovered" (see above). Two cover nearly all: a peer rarely gets three new
// messages within one latency. An Inbox that finds uncovered messages doubles its spares,
// up to kInboxSpareMax, so that busy receivers (clients, hot peers) adapt.
inline constexpr std::size_t kInboxSpareReceives = 2;
inline constexpr std::size_t kInboxSpareMax = 64;
// Receives an Inbox keeps posted at most (bound ones included): a burst beyond it waits in
// the mailbox, uncovered.
inline constexpr std::size_t kInboxPostedMax = 4096;

// One actor's side of one mailbox: its receives and its sends. Invariants: comms_ holds the
// posted receives (parallel to posted_, in posting order), then the sends in flight
// (parallel to sent_); each Posted never moves while its receive is posted (SimGrid writes
// the message into its slot); ready_ holds messages taken out of order after a failure.
template <typename T>
class Inbox {
 public:
  // The caller sets mb->set_receiver(self) for eager delivery (and set_receiver(nullptr)
  // when the actor ends, so that later messages are not received on its behalf).
  explicit Inbox(simgrid::s4u::Mailbox* mb, std::size_t spare = kInboxSpareReceives)
      : mailbox_(mb), spare_(std::max<std::size_t>(spare, 1)) {}
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Cancels the posted receives; messages they carried are lost, as in a crash. When the
  // actor is being killed (the destructor runs while SimGrid's kill exception unwinds the
  // stack), SimGrid has already cancelled every activity of the actor and a simcall would
  // throw again from a destructor, so we only free what we hold.
  ~Inbox() {
    const bool unwinding = std::uncaught_exceptions() > 0;
    for (auto& p : posted_) {
      if (!unwinding) {
        try {
          p->comm->cancel();
        } catch (const simgrid::Exception&) {
          // Already finished or failed: nothing left to cancel.
        }
      }
      delete p->slot;  // a message that arrived and was never collected
    }
    for (T* m : ready_) delete m;
    // Sends still in flight are cancelled by SimGrid when the actor ends; their messages
    // may already wait in a receiver's mailbox, so they are not ours to free.
  }

  // Sends `msg` (ownership passes to the network, then to the receiver) to `to` as a
  // datagram of `bytes` simulated bytes, without blocking. Call it from the actor that
  // owns this Inbox: later waits reap the send when its transfer ends.
  void send(simgrid::s4u::Mailbox* to, T* msg, std::uint64_t bytes) {
    simgrid::s4u::CommPtr comm = to->put_async(msg, bytes);
    comms_.push_back(comm);
    sent_.push_back(msg);
  }

  // Blocks until a message arrives (returns it; the caller owns it) or the simulated clock
  // reaches deadline_s (returns nullptr). deadline_s = +inf waits for a message only. With
  // a deadline already reached, returns a message that has arrived, if any, without
  // blocking. Receives still posted at the deadline deliver on later calls: no message is
  // lost or duplicated. A transfer that fails (network failure) is a lost datagram: the
  // wait goes on.
  [[nodiscard]] T* wait_until(double deadline_s) {
    while (true) {
      if (!ready_.empty()) return pop_ready();
      top_up();
      const double now_s = simgrid::s4u::Engine::get_clock();
      const double timeout_s = std::isinf(deadline_s) ? -1.0 : std::max(0.0, deadline_s - now_s);
      ssize_t done = -1;
      try {
        // Never test_any: a test does not take the communication out of the actor's list
        // of activities (SimGrid 3.32), which would then grow without bound.
        done = simgrid::s4u::Comm::wait_any_for(comms_, timeout_s);
      } catch (const simgrid::NetworkFailureException&) {
        reap_failed();
        continue;
      } catch (const simgrid::CancelException&) {
        reap_failed();
        continue;
      }
      if (done < 0) return nullptr;  // timed out; everything stays posted
      if (static_cast<std::size_t>(done) >= posted_.size()) {
        drop_send(static_cast<std::size_t>(done) - posted_.size());  // delivered to the network
        continue;
      }
      T* msg = take(static_cast<std::size_t>(done));
      if (msg != nullptr) return msg;
      if (timeout_s == 0.0) return nullptr;
    }
  }

  [[nodiscard]] simgrid::s4u::Mailbox* mailbox() const { return mailbox_; }
  // Messages that arrived while every spare receive was taken.
  [[nodiscard]] std::uint64_t uncovered() const { return uncovered_; }
  // Sends whose transfer has not been seen to end yet.
  [[nodiscard]] std::size_t sends_in_flight() const { return sent_.size(); }
  // Unbound receives kept posted now.
  [[nodiscard]] std::size_t spare() const { return spare_; }

 private:
  struct Posted {
    simgrid::s4u::CommPtr comm;
    T* slot = nullptr;  // written by SimGrid when the message is copied
  };

  // Posts receives until `spare_` of them are unbound. A receive posted while early
  // messages wait in the mailbox binds to the oldest one (Comm::get_sender() is set).
  void top_up() {
    std::size_t unbound = 0;
    for (const auto& c : comms_) unbound += c->get_sender() == nullptr ? 1 : 0;
    bool found_uncovered = false;
    while (unbound < spare_ && posted_.size() < kInboxPostedMax) {
      auto p = std::make_unique<Posted>();
      p->comm = mailbox_->get_async<T>(&p->slot);
      if (p->comm->get_sender() == nullptr) {
        ++unbound;
      } else if (primed_) {
        ++uncovered_;
        found_uncovered = true;
      }
      comms_.insert(comms_.begin() + static_cast<std::ptrdiff_t>(posted_.size()), p->comm);
      posted_.push_back(std::move(p));
    }
    if (found_uncovered) spare_ = std::min(2 * spare_, std::max(spare_, kInboxSpareMax));
    primed_ = true;
  }

  // Forgets send j (its transfer ended).
  void drop_send(std::size_t j) {
    comms_.erase(comms_.begin() + static_cast<std::ptrdiff_t>(posted_.size() + j));
    sent_.erase(sent_.begin() + static_cast<std::ptrdiff_t>(j));
  }

  // Removes posted receive i and returns its message (null if it carried none).
  T* take(std::size_t i) {
    T* msg = posted_[i]->slot;
    posted_.erase(posted_.begin() + static_cast<std::ptrdiff_t>(i));
    comms_.erase(comms_.begin() + static_cast<std::ptrdiff_t>(i));
    return msg;
  }

  // After a failed or cancelled transfer: drops the receives that will never deliver and
  // keeps, in order, the messages of those that completed meanwhile.
  void reap_failed() {
    for (std::size_t i = 0; i < posted_.size();) {
      if (!over(comms_[i])) {
        ++i;
        continue;
      }
      if (T* msg = take(i); msg != nullptr) ready_.push_back(msg);
    }
    // A failed send never reached a receiver: its message is still ours.
    using State = simgrid::s4u::Activity::State;
    for (std::size_t j = 0; j < sent_.size();) {
      simgrid::s4u::Comm& c = *comms_[posted_.size() + j];
      if (!over(comms_[posted_.size() + j])) {
        ++j;
        continue;
      }
      if (c.get_state() == State::FAILED || c.get_state() == State::CANCELED) delete sent_[j];
      drop_send(j);
    }
  }

  // Whether communication c has ended (completed, failed or cancelled).
  static bool over(const simgrid::s4u::CommPtr& c) {
    using State = simgrid::s4u::Activity::State;
    const State s = c->get_state();
    if (s == State::FAILED || s == State::CANCELED || s == State::FINISHED) return true;
    return s == State::STARTED && c->test();
  }

  T* pop_ready() {
    T* m = ready_.front();
    ready_.pop_front();
    return m;
  }

  simgrid::s4u::Mailbox* mailbox_;
  std::size_t spare_;
  std::vector<std::unique_ptr<Posted>> posted_;
  std::vector<simgrid::s4u::CommPtr> comms_;  // receives, then sends: what wait_any waits on
  std::vector<T*> sent_;                      // the message of each send in flight
  std::deque<T*> ready_;
  std::uint64_t uncovered_ = 0;
  bool primed_ = false;  // the first top_up binds to messages sent before we existed
};

// Sends `msg` (ownership passes to SimGrid, then to the receiver) as a datagram of `bytes`
// simulated bytes, without blocking: a detached put. If the transfer fails, SimGrid
// deletes the message.
template <typename T>
void send_datagram(simgrid::s4u::Mailbox* to, T* msg, std::uint64_t bytes) {
  to->put_init(msg, bytes)->detach([](void* p) { delete static_cast<T*>(p); });
}

}  // namespace kittengrad::sim
