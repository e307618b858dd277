// live_subscribe.cc — `kittengrad subscribe`: follows one peer's journal from a height and
// prints each block it accepts as a JSON line, a marker once the backlog is in, then live
// entries as they come.
//
// The feed travels over UDP and a peer sends the backlog 16 blocks at a time, so the
// command drives it: it subscribes from the height it expects next, again as soon as a
// batch has arrived while it is behind, and again after a quiet second (a lost datagram
// left a hole: the follower refuses what does not link). Nothing is printed twice: only
// blocks the JournalFollower accepted (signed by the peer, linked, every entry verified),
// in height order. Resuming: `--from` the last printed height + 1.
#include "live_subscribe.h"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "kittengrad/follower.h"
#include "kittengrad/real/live_address.h"
#include "kittengrad/real/live_loop.h"
#include "live_admin_client.h"
#include "live_client.h"
#include "live_client_runner.h"

namespace kittengrad::live {
namespace {

using Json = nlohmann::ordered_json;
constexpr int kDone = 0;
constexpr int kFailed = 1;
constexpr int kBadInput = 2;
constexpr std::uint64_t kBlocksPerFeed = 16;  // what a peer sends per subscription tick
constexpr auto kQuiet = std::chrono::seconds(1);
constexpr auto kLeaseRenewal = std::chrono::seconds(20);  // the peer's lease is 60 s

Json entry_json(const Entry& e) {
  return Json{{"canonical", e.canonical.to_string()}, {"update", e.update.to_string()},
              {"author", to_hex(e.author)}, {"timestamp_ms", e.timestamp_ms}};
}

class Subscriber final : public Node {
 public:
  Subscriber(asio::io_context& io, LiveLoop& loop, const SubscribeOptions& o, Address peer,
             std::uint64_t head)
      : loop_(loop), o_(o), peer_(peer), head_(head), timer_(io) {}

  void start() {
    subscribe();
    if (head_ < o_.from) caught_up();
  }

  void on_message(Address from, const Message& m) override {
    if (from != peer_ || m.ns != o_.ns) return;
    if (const auto* b = std::get_if<JournalBlocks>(&m.body)) return on_blocks(*b);
    if (const auto* l = std::get_if<JournalLive>(&m.body)) return on_live(*l);
    if (const auto* r = std::get_if<Refused>(&m.body); r && r->req == sub_) {
      std::cerr << "kittengrad subscribe: " << format_address(peer_) << " refused the subscription: "
                << error_name(r->error) << "\n";
      status_ = kFailed;
      stop();
    }
  }
  void on_wakeup() override {}
  [[nodiscard]] std::optional<Time> next_wakeup() const override { return std::nullopt; }

  [[nodiscard]] int status() const { return status_; }
  void stop() {
    timer_.cancel();
    if (sub_ != 0) {
      loop_.send(peer_, Message{o_.ns, Unsubscribe{sub_}});  // else the peer feeds a closed port
      sub_ = 0;
    }
    loop_.stop();
    if (on_stop) on_stop();
  }
  std::function<void()> on_stop;  // the caller's own handlers (signals) end too

 private:
  // The follower checks blocks against the key the session proved for the peer.
  JournalFollower* follower() {
    if (!follower_) {
      const std::optional<PublicKey> key = loop_.sessions().peer_at(peer_, LiveLoop::session_now());
      if (!key) return nullptr;
      follower_.emplace(*key, o_.from);
    }
    return &*follower_;
  }

  void subscribe() {
    const std::uint64_t from = follower_ ? follower_->next_height() : o_.from;
    if (sub_ != 0) loop_.send(peer_, Message{o_.ns, Unsubscribe{sub_}});
    sub_ = next_sub_++;
    since_subscribe_ = 0;
    loop_.send(peer_, Message{o_.ns, Subscribe{sub_, from}});
    loop_.turn_done();
    arm(kQuiet);
  }

  void arm(std::chrono::steady_clock::duration after) {
    timer_.expires_after(after);
    timer_.async_wait([this](const std::error_code& ec) {
      if (ec) return;
      // Quiet: behind (a hole, or the next batch) means ask again; caught up means renew.
      if (!caught_up_ || quiet_rounds_++ * kQuiet >= kLeaseRenewal) {
        quiet_rounds_ = 0;
        subscribe();
      } else {
        arm(kQuiet);
      }
    });
  }

  void on_blocks(const JournalBlocks& m) {
    if (m.sub != sub_) return;
    JournalFollower* f = follower();
    if (f == nullptr) return;
    const std::uint64_t before = f->next_height();
    const std::vector<Entry> entries = f->on_blocks(m);
    // Print block by block: the follower took whole blocks, in height order.
    std::size_t at = 0;
    for (const JournalBlock& b : m.blocks) {
      if (b.header.height < before || b.header.height >= f->next_height()) continue;
      Json list = Json::array();
      for (std::size_t i = 0; i < b.entries.size() && at < entries.size(); ++i) list.push_back(entry_json(entries[at++]));
      std::cout << Json{{"height", b.header.height}, {"timestamp_ms", b.header.timestamp_ms},
                        {"entries", list}}.dump()
                << "\n";
    }
    since_subscribe_ += m.blocks.size();
    std::cout.flush();
    if (!caught_up_ && f->next_height() > head_) caught_up();
    if (!caught_up_ && since_subscribe_ >= kBlocksPerFeed) subscribe();  // the next batch
  }

  void on_live(const JournalLive& m) {
    if (m.sub != sub_ || !caught_up_) return;
    JournalFollower* f = follower();
    if (f == nullptr) return;
    for (const Entry& e : f->on_live(m)) std::cout << Json{{"live", entry_json(e)}}.dump() << "\n";
    std::cout.flush();
  }

  void caught_up() {
    caught_up_ = true;
    std::cout << Json{{"caught_up", true}, {"height", follower_ ? follower_->next_height() - 1 : head_}}.dump()
              << "\n";
    std::cout.flush();
    if (o_.until_caught_up) stop();
  }

  LiveLoop& loop_;
  SubscribeOptions o_;
  Address peer_;
  std::uint64_t head_;
  asio::steady_timer timer_;
  std::optional<JournalFollower> follower_;
  std::uint64_t sub_ = 0;
  std::uint64_t next_sub_ = 1;
  std::size_t since_subscribe_ = 0;
  std::size_t quiet_rounds_ = 0;
  bool caught_up_ = false;
  int status_ = kDone;
};

// The peer's journal height for ns, from its stats.
Result<std::uint64_t> head_height(const asio::ip::udp::endpoint& peer, const std::string& ns,
                                  std::chrono::milliseconds timeout) {
  auto items = ask_peer(peer, admin::Query::kStats, timeout);
  if (!items) return items.error();
  if (const auto h = admin::number_of(*items, "ns/" + ns + "/journal/height")) return *h;
  return Error{ErrorCode::kUnknownNamespace, "the peer does not serve namespace \"" + ns + "\""};
}

}  // namespace

int run_subscribe(const SubscribeOptions& o) {
  auto fail = [](const Error& e, int status) {
    std::cerr << "kittengrad subscribe: " << e.detail << "\n";
    return status;
  };
  auto keys = client_identity(o.identity);
  if (!keys) return fail(keys.error(), kBadInput);
  asio::io_context io;
  auto socket = open_client_socket(io, o.peer, o.ns, o.max_datagram_bytes, *keys);
  if (!socket) return fail(socket.error(), socket.error().code == ErrorCode::kBadRequest ? kBadInput : kFailed);
  auto head = head_height(socket->peer, o.ns, std::chrono::milliseconds(o.timeout_ms));
  if (!head) return fail(head.error(), head.error().code == ErrorCode::kUnknownNamespace ? kBadInput : kFailed);
  LiveLoop& loop = *socket->loop;
  Subscriber s(io, loop, o, socket->peer_address, *head);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&s](const std::error_code& ec, int) {
    if (!ec) s.stop();
  });
  s.on_stop = [&signals] {
    std::error_code ignored;
    signals.cancel(ignored);
  };
  loop.start(&s);
  s.start();
  io.run();
  return s.status();
}

}  // namespace kittengrad::live
