// live_run_workload.h — the workload of a live run: the simulator's clients (Poisson
// inserts, updates and lookups, uniform or Zipf keys, entries signed by one of 16 authors;
// kWorkloadClients clients on hosts of their own, each with the simulator's random stream
// and share of the rates) on a thread of its own, each driving the core's Client over a
// real socket that crosses the run's network (latency, loss) as the peers' sockets do.
//
// The thread owns its loop, its Client, its op rows and its History. The director (the
// run's main thread) talks to it through Shared alone: it tells it which peers are joined
// (the gateways ops are sent to) and takes the acknowledged writes for the oracle. After
// stop(), the rows and the history are the caller's.
//
//   Workload w(scenario, t0_us);
//   w.open(first_client_host);
//   w.set_gateways({...});  // joined peers' Addresses, refreshed every sample
//   w.start();              // the thread runs
//   ... w.take_acks() ...   // in completion order
//   WorkloadResult r = w.stop();
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "kittengrad/client.h"
#include "kittengrad/history.h"
#include "kittengrad/rng.h"
#include "kittengrad/real/live_loop.h"
#include "kittengrad/runs/run_tables.h"
#include "kittengrad/scenario.h"

namespace kittengrad::live {

struct AckedWrite {
  std::vector<Entry> entries;
  Time at = 0;
};

// A finished lookup, judged by the oracle once every earlier acknowledgement is known.
struct LookupToJudge {
  std::size_t row = 0;  // in LookupsTable (before sorting: rows are sorted by the caller)
  std::string ns;
  RingId key;
  Time issued = 0;
  std::vector<Entry> got;
};

struct WorkloadResult {
  runs::OpsTable ops;
  runs::LookupsTable lookups;  // `correct` is 0 until judged
  std::vector<LookupToJudge> to_judge;
  History history;
  TransportCounters counters;  // the client's transport, over the run
};

class Workload {
 public:
  Workload(const Scenario& sc, Time t0_us);
  ~Workload();

  // The clients' sockets, on hosts first_host .. first_host + kWorkloadClients - 1 (any
  // free port), each with the run's latency model from its host.
  [[nodiscard]] Result<bool> open(std::size_t first_host);
  void start();
  // Ends the workload: the thread stops, ops still in flight become "unfinished" rows.
  [[nodiscard]] WorkloadResult stop();

  void set_gateways(std::vector<Address> gateways);
  [[nodiscard]] std::vector<AckedWrite> take_acks();
  // The clients' transport counters, summed.
  [[nodiscard]] TransportCounters counters();
  [[nodiscard]] std::size_t ops_done();

 private:
  struct OpRow {
    bool lookup = false;
    bool insert = false;
    std::string ns;
    RingId key;
    Time issued = 0;
    std::vector<Entry> entries;
    std::uint64_t history_id = 0;
  };
  // One client: its socket, its core Client, its random stream and its arrivals.
  struct Slot final : Node {
    Slot(Workload& w, std::size_t index);
    void on_message(Address from, const Message& m) override { client->on_datagram(from, m); }
    void on_wakeup() override { client->on_wakeup(); }
    [[nodiscard]] std::optional<Time> next_wakeup() const override { return client->next_wakeup(); }
    void end_of_turn() override { owner.harvest(*this); }

    Workload& owner;
    std::size_t index;
    std::unique_ptr<LiveLoop> loop;
    std::optional<Client> client;
    Rng rng;
    asio::steady_timer arrival;
    std::map<std::uint64_t, OpRow> in_flight;  // by client op id
  };
  void arm_arrival(Slot& c);
  void issue_op(Slot& c);
  void harvest(Slot& c);
  void publish_counters();
  [[nodiscard]] double run_s(Time t) const { return static_cast<double>(t - t0_) / 1e6; }

  const Scenario& sc_;
  const Time t0_;
  asio::io_context io_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::thread thread_;
  std::vector<KeyPair> authors_;
  std::vector<std::pair<std::size_t, Cid>> canonicals_;  // (namespace index, canonical)
  std::uint64_t next_history_id_ = 0;
  WorkloadResult result_;

  std::mutex mu_;  // guards what the director reads or writes
  std::vector<Address> gateways_;
  std::vector<AckedWrite> acks_;
  TransportCounters counters_;
  std::size_t ops_done_ = 0;
};

}  // namespace kittengrad::live
