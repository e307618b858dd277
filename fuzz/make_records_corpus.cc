// make_records_corpus.cc — writes the storage-record fuzzer's seed corpus: entry and block
// rows as SqliteStorage stores them, from the codec's random samples (a write's entries, a
// feed's blocks). Deterministic: the same files on every run.
//
//   ./build/fuzz/make_records_corpus fuzz/corpus/records
#include <cstdio>
#include <fstream>
#include <string>

#include "kittengrad/crypto.h"
#include "kittengrad/rng.h"
#include "sample_messages.h"
#include "sqlite_records.h"

int main(int argc, char** argv) {
  using namespace kittengrad;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  if (!crypto_init()) return 1;
  Rng rng(20261203);
  int written = 0;
  auto write = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(std::string(argv[1]) + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ++written;
    return static_cast<bool>(out);
  };
  int entries = 0, blocks = 0;
  for (std::size_t kind = 0; kind < kMessageKinds && (entries < 8 || blocks < 8); ++kind) {
    for (int round = 0; round < 4; ++round) {
      const Message m = codec_samples::random_message(kind, "default", rng);
      if (const auto* w = std::get_if<WriteRequest>(&m.body)) {
        for (const Entry& e : w->entries) {
          if (entries < 8 && !write("entry-" + std::to_string(entries++), sqlite::encode_entry(e))) return 1;
        }
      }
      if (const auto* f = std::get_if<JournalBlocks>(&m.body)) {
        for (const JournalBlock& b : f->blocks) {
          if (blocks < 8 && !write("block-" + std::to_string(blocks++), sqlite::encode_block(b))) return 1;
        }
      }
    }
  }
  std::printf("%d records written to %s\n", written, argv[1]);
  return written > 0 ? 0 : 1;
}
