// message_equal.cc — see message_equal.h.
#include "message_equal.h"
#include "kittengrad/overloaded.h"

#include <tuple>

namespace kittengrad::codec_samples {

// Every field of every kind, written apart from the codec's own field list: each
// structured binding names all the struct's fields (one more field and it does not
// compile), and the visitor has one case per kind.
bool same_body(const Body& a, const Body& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      Overloaded{
          [&](const FindSuccessor& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<FindSuccessor>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const FindSuccessorReply& x) { const auto& [p, q, r] = x; const auto& [P, Q, R] = std::get<FindSuccessorReply>(b); return std::tie(p, q, r) == std::tie(P, Q, R); },
          [&](const GetNeighbours& x) { const auto& [p] = x; const auto& [P] = std::get<GetNeighbours>(b); return p == P; },
          [&](const GetNeighboursReply& x) { const auto& [p, q, r, s, t] = x; const auto& [P, Q, R, S, T] = std::get<GetNeighboursReply>(b); return std::tie(p, q, r, s, t) == std::tie(P, Q, R, S, T); },
          [&](const Notify& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<Notify>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const Ping& x) { const auto& [p] = x; const auto& [P] = std::get<Ping>(b); return p == P; },
          [&](const Pong& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<Pong>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const LeaveNotice& x) { const auto& [p, q, r] = x; const auto& [P, Q, R] = std::get<LeaveNotice>(b); return std::tie(p, q, r) == std::tie(P, Q, R); },
          [&](const WriteRequest& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<WriteRequest>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const ReadRequest& x) { const auto& [p, q, r, s] = x; const auto& [P, Q, R, S] = std::get<ReadRequest>(b); return std::tie(p, q, r, s) == std::tie(P, Q, R, S); },
          [&](const RouteRequest& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<RouteRequest>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const ClientReply& x) { const auto& [p, q, r, s, t, u, v, w, y, z] = x; const auto& [P, Q, R, S, T, U, V, W, Y, Z] = std::get<ClientReply>(b); return std::tie(p, q, r, s, t, u, v, w, y, z) == std::tie(P, Q, R, S, T, U, V, W, Y, Z); },
          [&](const Replicate& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<Replicate>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const ReplicateAck& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<ReplicateAck>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const ReadReplica& x) { const auto& [p, q, r] = x; const auto& [P, Q, R] = std::get<ReadReplica>(b); return std::tie(p, q, r) == std::tie(P, Q, R); },
          [&](const ReadReplicaReply& x) { const auto& [p, q, r] = x; const auto& [P, Q, R] = std::get<ReadReplicaReply>(b); return std::tie(p, q, r) == std::tie(P, Q, R); },
          [&](const AeDigest& x) { const auto& [p, q, r, s] = x; const auto& [P, Q, R, S] = std::get<AeDigest>(b); return std::tie(p, q, r, s) == std::tie(P, Q, R, S); },
          [&](const AeInSync& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<AeInSync>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const AeSymbols& x) { const auto& [p, q, r, s, t] = x; const auto& [P, Q, R, S, T] = std::get<AeSymbols>(b); return std::tie(p, q, r, s, t) == std::tie(P, Q, R, S, T); },
          [&](const AeMore& x) { const auto& [p, q, r, s] = x; const auto& [P, Q, R, S] = std::get<AeMore>(b); return std::tie(p, q, r, s) == std::tie(P, Q, R, S); },
          [&](const AeExchange& x) { const auto& [p, q, r, s] = x; const auto& [P, Q, R, S] = std::get<AeExchange>(b); return std::tie(p, q, r, s) == std::tie(P, Q, R, S); },
          [&](const AeEntries& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<AeEntries>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const RangePull& x) { const auto& [p, q, r, s] = x; const auto& [P, Q, R, S] = std::get<RangePull>(b); return std::tie(p, q, r, s) == std::tie(P, Q, R, S); },
          [&](const RangeEntries& x) { const auto& [p, q, r, s] = x; const auto& [P, Q, R, S] = std::get<RangeEntries>(b); return std::tie(p, q, r, s) == std::tie(P, Q, R, S); },
          [&](const CatchUp& x) { const auto& [p, q, r, s, t, u] = x; const auto& [P, Q, R, S, T, U] = std::get<CatchUp>(b); return std::tie(p, q, r, s, t, u) == std::tie(P, Q, R, S, T, U); },
          [&](const CatchUpReply& x) { const auto& [p, q, r, s, t] = x; const auto& [P, Q, R, S, T] = std::get<CatchUpReply>(b); return std::tie(p, q, r, s, t) == std::tie(P, Q, R, S, T); },
          [&](const Subscribe& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<Subscribe>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const Unsubscribe& x) { const auto& [p] = x; const auto& [P] = std::get<Unsubscribe>(b); return p == P; },
          [&](const JournalBlocks& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<JournalBlocks>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const JournalLive& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<JournalLive>(b); return std::tie(p, q) == std::tie(P, Q); },
          [&](const Refused& x) { const auto& [p, q] = x; const auto& [P, Q] = std::get<Refused>(b); return std::tie(p, q) == std::tie(P, Q); },
      },
      a);
}

bool same_message(const Message& a, const Message& b) { return a.ns == b.ns && same_body(a.body, b.body); }

}  // namespace kittengrad::codec_samples
