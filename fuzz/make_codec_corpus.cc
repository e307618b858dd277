// make_codec_corpus.cc — writes the codec fuzzer's seed corpus: for every message kind,
// two random messages (one per namespace the fuzz target serves) and the largest one at
// the smallest datagram, encoded. Deterministic: the same files on every run.
//
//   ./build/fuzz/make_codec_corpus fuzz/corpus/codec
#include <cstdio>
#include <fstream>
#include <string>

#include "kittengrad/crypto.h"
#include "kittengrad/real/codec.h"
#include "kittengrad/rng.h"
#include "sample_messages.h"

int main(int argc, char** argv) {
  using namespace kittengrad;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  if (!crypto_init()) return 1;
  const std::string dir = argv[1];
  Rng rng(20240615);
  const std::size_t budget = kMaxDatagramBytesMin - kTransportOverheadBytes;
  int written = 0;
  for (std::size_t kind = 0; kind < kMessageKinds; ++kind) {
    const std::string name = message_kind_name(kind);
    const Message samples[] = {codec_samples::random_message(kind, "default", rng),
                               codec_samples::random_message(kind, "other", rng),
                               codec_samples::largest_message(kind, "default", budget)};
    int i = 0;
    for (const Message& m : samples) {
      const std::vector<std::uint8_t> bytes = codec::encode(m);
      std::ofstream out(dir + "/" + name + "-" + std::to_string(i++), std::ios::binary);
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
      if (!out) {
        std::fprintf(stderr, "cannot write %s\n", dir.c_str());
        return 1;
      }
      ++written;
    }
  }
  std::printf("%d encodings written to %s\n", written, dir.c_str());
  return 0;
}
