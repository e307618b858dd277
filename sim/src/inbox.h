// inbox.h — an actor's receive loop that never loses a message, and datagram sends that
// never block.
//
// The pitfall this avoids: in SimGrid 3.32, Comm::wait_for(timeout) (and Mailbox::get with
// a timeout) arms a timer *on the communication*; when it fires, the communication itself
// fails with a timeout, even if the message was already matched and in transfer on the
// network, and that message is gone. Comm::wait_any_for() instead arms a timer on the
// *waiting actor*: when it fires, the actor is woken with -1 and the communication stays
// posted on the mailbox (src/kernel/activity/ActivityImpl.cpp, ActivityImpl::wait_any_for,
// tag v3.32). So an Inbox posts one receive, waits for it with wait_any_for until the
// caller's deadline, and on timeout keeps it for the next call.
//
//   auto* mb = simgrid::s4u::Mailbox::by_name("p17");
//   mb->set_receiver(simgrid::s4u::Actor::self());     // eager: senders never wait for us
//   Inbox<Datagram> inbox(mb);
//   while (running) {
//     std::unique_ptr<Datagram> d(inbox.wait_until(next_timer_s));
//     if (d) handle(*d); else fire_timers();
//   }
//   send_datagram(simgrid::s4u::Mailbox::by_name("p3"), new Datagram{...}, 120);
//
// Ordering: SimGrid matches a mailbox's messages in the order they were *sent*, so
// messages from one sender are received in order; with an eager receiver a message still
// in transfer holds back later ones that arrived before it (head-of-line blocking at
// the receiver, not reordering).
//
// Ownership: a message belongs to its sender until send_datagram(), to SimGrid while in
// flight (SimGrid deletes it if the transfer fails or is cancelled), and to the receiver
// once wait_until() returns it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Mailbox.hpp>
#include <vector>

namespace kittengrad::sim {

// One actor's receive side of one mailbox. Invariant: at most one receive is posted at a
// time (pending_), and it writes into slot_, so an Inbox never moves.
template <typename T>
class Inbox {
 public:
  // The caller sets mb->set_receiver(self) for eager delivery (and set_receiver(nullptr)
  // when the actor ends, so that later messages are not received on its behalf).
  explicit Inbox(simgrid::s4u::Mailbox* mb) : mailbox_(mb) {}
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Cancels the pending receive. When the actor is being killed (the destructor runs while
  // SimGrid's kill exception unwinds the stack), SimGrid has already cancelled every
  // activity of the actor and a simcall would throw again from a destructor, so we only
  // free what we hold. A message that completed but was never collected is deleted.
  ~Inbox() {
    if (pending_ == nullptr) return;
    if (std::uncaught_exceptions() == 0) {
      try {
        pending_->cancel();
      } catch (const simgrid::Exception&) {
        // Already finished or failed: nothing is left to cancel.
      }
    }
    delete slot_;
  }

  // Blocks until a message arrives (returns it; the caller owns it) or the simulated clock
  // reaches deadline_s (returns nullptr). deadline_s = +inf waits for a message only. A
  // receive still pending at the deadline stays posted and delivers on a later call: no
  // message is lost or duplicated. A transfer that fails (network failure) is a lost
  // datagram: the wait goes on until the deadline.
  [[nodiscard]] T* wait_until(double deadline_s) {
    while (true) {
      if (pending_ == nullptr) {
        slot_ = nullptr;
        pending_ = mailbox_->get_async<T>(&slot_);
        waited_[0] = pending_;
      }
      const double now_s = simgrid::s4u::Engine::get_clock();
      const double timeout_s = std::isinf(deadline_s) ? -1.0 : std::max(0.0, deadline_s - now_s);
      bool done = false;
      try {
        // At the deadline, take only what has already arrived.
        done = timeout_s == 0.0 ? pending_->test()
                                : simgrid::s4u::Comm::wait_any_for(waited_, timeout_s) >= 0;
      } catch (const simgrid::NetworkFailureException&) {
        done = true;  // lost in transfer: slot_ stays null
      } catch (const simgrid::CancelException&) {
        done = true;
      }
      if (!done) return nullptr;  // timed out; pending_ stays posted
      T* msg = slot_;
      slot_ = nullptr;
      pending_ = nullptr;
      waited_[0] = nullptr;
      if (msg != nullptr || timeout_s == 0.0) return msg;
    }
  }

  [[nodiscard]] simgrid::s4u::Mailbox* mailbox() const { return mailbox_; }

 private:
  simgrid::s4u::Mailbox* mailbox_;
  simgrid::s4u::CommPtr pending_;  // the posted receive, or null
  std::vector<simgrid::s4u::CommPtr> waited_ = std::vector<simgrid::s4u::CommPtr>(1);
  T* slot_ = nullptr;  // where pending_ writes the received pointer
};

// Sends `msg` (ownership passes to SimGrid, then to the receiver) as a datagram of `bytes`
// simulated bytes, without blocking: a detached put. If the transfer fails, SimGrid
// deletes the message.
template <typename T>
void send_datagram(simgrid::s4u::Mailbox* to, T* msg, std::uint64_t bytes) {
  to->put_init(msg, bytes)->detach([](void* p) { delete static_cast<T*>(p); });
}

}  // namespace kittengrad::sim
