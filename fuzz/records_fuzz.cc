// records_fuzz.cc — libFuzzer target for the decoders of what a peer reads back from its
// SQLite database (real/src/sqlite_records.h): entry rows and journal block rows.
//
// A damaged database must be an error naming the row, never a crash. Any bytes, as an
// entry and as a block: decode must refuse with kBadRequest and a detail, or accept what
// encodes back to exactly the same bytes (a record has one encoding).
//
//   make fuzz-records FUZZ_SECONDS=60     (builds build-fuzz with clang; see README.md)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "kittengrad/crypto.h"
#include "sqlite_records.h"

namespace {

using namespace kittengrad;

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "records_fuzz: %s\n", why);
  std::abort();
}

template <typename T>
void check(const Result<T>& r, std::span<const std::uint8_t> input,
           std::vector<std::uint8_t> (*encode)(const T&), const char* what) {
  if (!r.ok()) {
    if (r.error().code != ErrorCode::kBadRequest) fail(what);
    if (r.error().detail.empty()) fail("refused without a detail");
    return;
  }
  const std::vector<std::uint8_t> again = encode(*r);
  if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) {
    fail("accepted bytes that do not encode back to themselves");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = crypto_init();
  if (!ready) std::abort();
  const std::span<const std::uint8_t> input(data, size);
  check(sqlite::decode_entry(input, "default"), input, &sqlite::encode_entry, "entry: unexpected code");
  check(sqlite::decode_block(input, "default"), input, &sqlite::encode_block, "block: unexpected code");
  return 0;
}
