// session_limits.cc — see session_limits.h.
#include "session_limits.h"

#include <sodium.h>

#include <algorithm>
#include <string_view>

namespace kittengrad::session {
namespace {

constexpr std::uint64_t kMicro = static_cast<std::uint64_t>(kMicrosPerSecond);

}  // namespace

TokenBucket::TokenBucket(std::uint64_t per_s, Time now)
    : per_s_(per_s), micro_tokens_(per_s * kMicro), last_(now) {}

void TokenBucket::refill(Time now) {
  if (now <= last_) return;  // a clock that steps back grants nothing
  // A second refills the whole bucket, so longer gaps need not be multiplied (nor overflow).
  const auto elapsed_us = static_cast<std::uint64_t>(std::min<Time>(now - last_, kMicrosPerSecond));
  micro_tokens_ = std::min(per_s_ * kMicro, micro_tokens_ + elapsed_us * per_s_);
  last_ = now;
}

bool TokenBucket::take(Time now) {
  refill(now);
  if (micro_tokens_ < kMicro) return false;
  micro_tokens_ -= kMicro;
  return true;
}

bool SourceLimiter::allow(Address source, Time now) {
  auto it = sources_.find(source);
  if (it == sources_.end()) {
    if (sources_.size() >= sources_max_) {
      const auto oldest = sources_.find(lru_.front());
      if (now - oldest->second.last_seen < kMicrosPerSecond) return false;
      lru_.erase(oldest->second.lru);
      sources_.erase(oldest);
    }
    lru_.push_back(source);
    it = sources_.emplace(source, Source{TokenBucket(per_s_, now), now, std::prev(lru_.end())})
             .first;
  }
  Source& s = it->second;
  s.last_seen = std::max(s.last_seen, now);
  lru_.splice(lru_.end(), lru_, s.lru);
  return s.bucket.take(now);
}

CookieJar::CookieJar(Time rotation, SessionRandom& random, Time now)
    : rotation_(rotation), random_(random), rotated_at_(now) {
  random_.fill(current_);
  random_.fill(previous_);
}

CookieJar::~CookieJar() {
  sodium_memzero(current_.data(), current_.size());
  sodium_memzero(previous_.data(), previous_.size());
}

void CookieJar::rotate(Time now) {
  if (now - rotated_at_ < rotation_) return;
  // After two periods the previous secret is as stale as the current one: replace both.
  if (now - rotated_at_ >= 2 * rotation_) {
    random_.fill(previous_);
  } else {
    previous_ = current_;
  }
  random_.fill(current_);
  rotated_at_ = now;
}

namespace {

wire::Cookie mac(const std::array<std::uint8_t, 32>& secret, Address source) {
  std::array<std::uint8_t, 8> msg;
  for (int i = 0; i < 8; ++i) msg[i] = static_cast<std::uint8_t>(source >> (56 - 8 * i));
  wire::Cookie out;
  crypto_generichash(out.data(), out.size(), msg.data(), msg.size(), secret.data(),
                     secret.size());
  return out;
}

}  // namespace

wire::Cookie CookieJar::make(Address source, Time now) {
  rotate(now);
  return mac(current_, source);
}

bool CookieJar::valid(const wire::Cookie& cookie, Address source, Time now) {
  rotate(now);
  const wire::Cookie a = mac(current_, source);
  const wire::Cookie b = mac(previous_, source);
  // Both compared, in constant time: the answer must not leak how close a guess was.
  const bool ok_a = sodium_memcmp(a.data(), cookie.data(), cookie.size()) == 0;
  const bool ok_b = sodium_memcmp(b.data(), cookie.data(), cookie.size()) == 0;
  return ok_a || ok_b;
}

std::array<std::uint8_t, 32> cookie_reply_key(const wire::KxKey& ephemeral) {
  constexpr std::string_view kDomain = "kittengrad cookie v1";
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kDomain.data()),
                            kDomain.size());
  crypto_generichash_update(&st, ephemeral.data(), ephemeral.size());
  std::array<std::uint8_t, 32> key;
  crypto_generichash_final(&st, key.data(), key.size());
  return key;
}

}  // namespace kittengrad::session
