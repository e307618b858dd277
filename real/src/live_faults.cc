// live_faults.cc — partitions, loss, duplicates, latency and control orders at one peer's
// transport (see live_faults.h).
#include "live_faults.h"

#include "kittengrad/real/live_control.h"

namespace kittengrad::live {

const char* refusal_name(ControlRefusal r) {
  switch (r) {
    case ControlRefusal::kNoKey: return "no_key";
    case ControlRefusal::kMalformed: return "malformed";
    case ControlRefusal::kBadSignature: return "bad_signature";
    case ControlRefusal::kReplayed: return "replayed";
  }
  return "unknown";
}

std::uint64_t FaultCounters::control_refused_total() const {
  std::uint64_t n = 0;
  for (const std::uint64_t r : control_refused) n += r;
  return n;
}

LiveFaults::LiveFaults(asio::io_context& io, FaultSettings settings, RawSend raw_send)
    : s_(std::move(settings)),
      raw_send_(std::move(raw_send)),
      timer_(io),
      rng_(Rng::derive(s_.seed, "live.faults", s_.host.value_or(kRunHostsMax))) {}

bool LiveFaults::cut(const asio::ip::udp::endpoint& peer) const {
  if (!partitioned_) return false;
  const std::optional<std::size_t> h = run_host_index(peer.address());
  const bool in_group = h && *h < group_.size() && group_[*h];
  return in_group != self_in_group_;
}

double LiveFaults::burst_rate() const {
  return burst_rate_ > 0 && std::chrono::steady_clock::now() < burst_until_ ? burst_rate_ : 0;
}

bool LiveFaults::admit(const asio::ip::udp::endpoint& from) {
  if (!cut(from)) return true;
  ++counters_.dropped_partition_in;
  return false;
}

void LiveFaults::send(const asio::ip::udp::endpoint& to, std::span<const std::uint8_t> bytes) {
  if (stopped_) return;
  if (cut(to)) {
    ++counters_.dropped_partition_out;
    return;
  }
  // Always the same draws in the same order (loss, burst, duplicate), so that a peer's
  // stream of decisions does not depend on whether a burst is on.
  const bool lost = rng_.chance(s_.loss);
  const bool burst_lost = rng_.chance(burst_rate());
  const bool twice = rng_.chance(s_.duplicate);
  if (lost) {
    ++counters_.dropped_loss;
    return;
  }
  if (burst_lost) {
    ++counters_.dropped_loss_burst;
    return;
  }
  double delay_s = 0;
  const std::optional<std::size_t> to_host = run_host_index(to.address());
  if (s_.latency_s && s_.host && to_host && *s_.host < s_.latency_hosts && *to_host < s_.latency_hosts) {
    delay_s = s_.latency_s(*s_.host, *to_host);
  }
  send_after(to, bytes, delay_s);
  if (twice) {
    ++counters_.duplicated;
    send_after(to, bytes, delay_s);
  }
}

void LiveFaults::send_after(const asio::ip::udp::endpoint& to, std::span<const std::uint8_t> bytes,
                            double delay_s) {
  if (delay_s <= 0) {
    raw_send_(to, bytes);
    return;
  }
  if (queue_.size() >= kDelayedMax || queued_bytes_ + bytes.size() > kDelayedBytesMax) {
    ++counters_.delay_overflow;
    return;
  }
  ++counters_.delayed;
  const auto due = std::chrono::steady_clock::now() +
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(delay_s));
  queue_.push(Delayed{due, next_order_++, to, std::vector<std::uint8_t>(bytes.begin(), bytes.end())});
  queued_bytes_ += bytes.size();
  arm();
}

void LiveFaults::arm() {
  if (stopped_ || queue_.empty()) return;
  const TimePoint due = queue_.top().due;
  if (armed_ && *armed_ <= due) return;  // the timer fires first; on_timer re-arms
  armed_ = due;
  timer_.expires_at(due);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) return;
    on_timer();
  });
}

void LiveFaults::on_timer() {
  armed_.reset();
  const TimePoint now = std::chrono::steady_clock::now();
  while (!queue_.empty() && queue_.top().due <= now) {
    // priority_queue::top is const: move out through a copy of the handle's fields.
    Delayed d = queue_.top();
    queue_.pop();
    queued_bytes_ -= d.bytes.size();
    raw_send_(d.to, d.bytes);
  }
  arm();
}

void LiveFaults::stop() {
  stopped_ = true;
  timer_.cancel();
}

LiveFaults::ControlOutcome LiveFaults::on_control(std::span<const std::uint8_t> bytes) {
  auto refuse = [this](ControlRefusal r) {
    ++counters_.control_refused[static_cast<std::size_t>(r)];
    return ControlOutcome{std::nullopt, r};
  };
  if (!s_.control_key) return refuse(ControlRefusal::kNoKey);
  Result<ControlDatagram> d = decode_control(bytes);
  if (!d) return refuse(ControlRefusal::kMalformed);
  const auto* order = std::get_if<ControlOrder>(&*d);
  if (order == nullptr) return refuse(ControlRefusal::kMalformed);
  if (!verify_order(*order, s_.listen_text, *s_.control_key)) return refuse(ControlRefusal::kBadSignature);
  if (order->seq < last_seq_ || order->seq == 0) return refuse(ControlRefusal::kReplayed);
  if (order->seq == last_seq_) {
    ++counters_.control_repeated;  // the runner did not see our ack: say it again
  } else {
    last_seq_ = order->seq;
    obey(order->command);
    ++counters_.control_accepted;
  }
  return ControlOutcome{encode_control(ControlAck{order->seq}), std::nullopt};
}

void LiveFaults::obey(const ControlCommand& c) {
  if (const auto* p = std::get_if<Partition>(&c)) {
    partitioned_ = true;
    group_.assign(p->group.empty() ? 0 : p->group.back() + 1, false);
    for (const std::uint32_t h : p->group) group_[h] = true;
    self_in_group_ = s_.host && *s_.host < group_.size() && group_[*s_.host];
  } else if (std::holds_alternative<Heal>(c)) {
    partitioned_ = false;
    group_.clear();
  } else {
    const Loss& l = std::get<Loss>(c);
    burst_rate_ = l.rate;
    burst_until_ = std::chrono::steady_clock::now() +
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(l.duration_s));
  }
}

}  // namespace kittengrad::live
