// make_codec_corpus.cc — writes the codec fuzzer's seed corpus: for every message kind,
// two random messages (one per namespace the fuzz target serves) and the largest one at
// the smallest datagram, encoded; an admin request and reply (live_admin.h); and a control
// order of each kind and an ack (live_control_wire.h).
// Deterministic: the same files on every run.
//
//   ./build/fuzz/make_codec_corpus fuzz/corpus/codec
#include <cstdio>
#include <fstream>
#include <string>

#include "kittengrad/crypto.h"
#include "kittengrad/real/codec.h"
#include "kittengrad/real/live_admin.h"
#include "kittengrad/real/live_control_wire.h"
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
  auto write = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ++written;
    return static_cast<bool>(out);
  };
  for (std::size_t kind = 0; kind < kMessageKinds; ++kind) {
    const std::string name = message_kind_name(kind);
    const Message samples[] = {codec_samples::random_message(kind, "default", rng),
                               codec_samples::random_message(kind, "other", rng),
                               codec_samples::largest_message(kind, "default", budget)};
    int i = 0;
    for (const Message& m : samples) {
      if (!write(name + "-" + std::to_string(i++), codec::encode(m))) {
        std::fprintf(stderr, "cannot write %s\n", dir.c_str());
        return 1;
      }
    }
  }
  const admin::Request request{.req = 12345, .query = admin::Query::kStats, .first = 7};
  const admin::Reply reply{.req = 12345, .query = admin::Query::kRing, .first = 0, .total = 3,
                           .items = {{"peer/address", std::string("127.0.0.1:7400")},
                                     {"ns/default/joined", std::uint64_t{1}},
                                     {"counters/timeouts", std::uint64_t{300}}}};
  if (!write("admin-0", admin::encode_admin(request)) || !write("admin-1", admin::encode_admin(reply))) {
    std::fprintf(stderr, "cannot write %s\n", dir.c_str());
    return 1;
  }
  const KeyPair runner = keypair_from_u64(0x5EED);
  const live::ControlDatagram controls[] = {
      live::sign_order("127.77.0.1:7400", 1, live::Partition{{0, 2, 300}}, runner),
      live::sign_order("127.77.0.1:7400", 2, live::Heal{}, runner),
      live::sign_order("127.77.0.1:7400", 3, live::Loss{0.3, 60}, runner), live::ControlAck{3}};
  int c = 0;
  for (const live::ControlDatagram& d : controls) {
    if (!write("control-" + std::to_string(c++), live::encode_control(d))) {
      std::fprintf(stderr, "cannot write %s\n", dir.c_str());
      return 1;
    }
  }
  std::printf("%d encodings written to %s\n", written, dir.c_str());
  return 0;
}
