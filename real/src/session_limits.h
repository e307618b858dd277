// session_limits.h — what keeps a handshake flood cheap: a token bucket (the global
// handshake rate, and one per source address), the bounded table of per-source buckets,
// and the cookie jar (WireGuard's cookie: a MAC of the sender's address under a secret
// that rotates, so a cookie proves the sender receives at that address).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>

#include "kittengrad/env.h"
#include "kittengrad/messages.h"
#include "session_random.h"
#include "session_wire.h"

namespace kittengrad::session {

// per_s tokens a second, at most per_s in store (one second's burst). Integer arithmetic
// in millionths of a token, so that a run replays exactly.
class TokenBucket {
 public:
  TokenBucket(std::uint64_t per_s, Time now);
  // Takes a token if there is one.
  [[nodiscard]] bool take(Time now);

 private:
  void refill(Time now);

  std::uint64_t per_s_;
  std::uint64_t micro_tokens_;
  Time last_;
};

// One bucket per source address, at most `sources_max` of them. When the table is full, a
// new source may take the place of the least recently seen one only if that one has been
// idle a whole second (its bucket would be full again, so forgetting it loses nothing);
// otherwise the new source is refused: a flood from many real addresses cannot reset its
// own buckets by pushing them out.
class SourceLimiter {
 public:
  SourceLimiter(std::size_t sources_max, std::uint64_t per_s)
      : sources_max_(sources_max), per_s_(per_s) {}
  [[nodiscard]] bool allow(Address source, Time now);
  [[nodiscard]] std::size_t size() const { return sources_.size(); }

 private:
  struct Source {
    TokenBucket bucket;
    Time last_seen;
    std::list<Address>::iterator lru;
  };
  std::size_t sources_max_;
  std::uint64_t per_s_;
  std::map<Address, Source> sources_;  // ordered: addresses are chosen by senders
  std::list<Address> lru_;             // least recently seen first
};

class CookieJar {
 public:
  CookieJar(Time rotation, SessionRandom& random, Time now);
  ~CookieJar();
  CookieJar(const CookieJar&) = delete;
  CookieJar& operator=(const CookieJar&) = delete;

  // The cookie `source` must present now.
  [[nodiscard]] wire::Cookie make(Address source, Time now);
  // True iff `cookie` is the MAC of `source` under the current or the previous secret.
  [[nodiscard]] bool valid(const wire::Cookie& cookie, Address source, Time now);

 private:
  void rotate(Time now);

  Time rotation_;
  SessionRandom& random_;
  std::array<std::uint8_t, 32> current_{};
  std::array<std::uint8_t, 32> previous_{};
  Time rotated_at_;
};

// The key that seals a cookie reply to the initiation with this ephemeral key.
[[nodiscard]] std::array<std::uint8_t, 32> cookie_reply_key(const wire::KxKey& ephemeral);

}  // namespace kittengrad::session
