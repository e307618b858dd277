// make_session_corpus.cc — writes the session fuzzer's seed corpus: each datagram of the
// fuzz world as one record arriving at B, the same from a stranger, truncated and
// replayed, plus a few sequences (in order, a replay, B sealing after the session
// expired). Deterministic: the same files on every run.
//
//   ./build/fuzz/make_session_corpus fuzz/corpus/session
#include <cstdio>
#include <fstream>
#include <string>

#include "session_world.h"

int main(int argc, char** argv) {
  using namespace kittengrad;
  using namespace kittengrad::session_fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  if (!crypto_init()) return 1;
  const std::string dir = argv[1];
  World w = make_world();
  make_seeds(w);
  int written = 0;
  auto write = [&](const std::string& name, const Bytes& bytes) {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", dir.c_str());
      std::exit(1);
    }
    ++written;
  };
  auto cat = [](std::initializer_list<Bytes> parts) {
    Bytes all;
    for (const Bytes& p : parts) all.insert(all.end(), p.begin(), p.end());
    return all;
  };
  for (std::size_t i = 0; i < w.seeds.size(); ++i) {
    const Bytes& d = w.seeds[i];
    const std::string n = std::to_string(i);
    write("datagram-" + n, record(0, d));
    write("stranger-" + n, record(1, d));
    write("at-a-" + n, record(2, d));
    write("truncated-" + n, record(0, Bytes(d.begin(), d.begin() + static_cast<long>(d.size() / 2))));
    write("twice-" + n, cat({record(0, d), record(0, d)}));
  }
  const std::vector<Bytes>& s = w.seeds;
  write("in-order", cat({record(0, s[3]), record(0, s[4]), record(0, s[5])}));
  write("reordered", cat({record(0, s[5]), record(0, s[3]), record(0, s[4]), record(0, s[3])}));
  write("seal", cat({record(3, Bytes{'h', 'i'}), record(0, s[3])}));
  // 63 s a record: past rekey_after (120 s) after two, past the lifetime after three.
  const std::uint8_t wait = 63 << 2;
  write("seal-late", cat({record(wait | 3, Bytes{'1'}), record(wait | 3, Bytes{'2'}),
                          record(wait | 3, Bytes{'3'}), record(wait, s[4])}));
  std::printf("%d inputs written to %s\n", written, dir.c_str());
  return 0;
}
