// live_config_test.cc — the peer config loader: a good file, and each kind of bad file
// refused with the key and the line named.
#include <gtest/gtest.h>

#include <string>

#include "kittengrad/real/live_config.h"

namespace kittengrad::live {
namespace {

Result<LivePeerConfig> parse(const std::string& text) {
  return parse_peer_config(text, "peer.toml", "/etc/kg");
}

// The message a refused file gets; fails the test if the file was accepted.
std::string refusal(const std::string& text) {
  auto c = parse(text);
  EXPECT_FALSE(c.ok()) << "accepted:\n" << text;
  return c.ok() ? std::string() : c.error().detail;
}

const std::string kGood = R"(listen = "127.0.0.1:7400"
identity = "peer.key"
data_dir = "/var/lib/kittengrad"
namespaces = ["default", "music"]
bootstrap = ["127.0.0.1:7401", "10.0.0.2:7400"]
sync = "normal"
log_level = "debug"
metrics_listen = ""
[overlay]
replication = 4
write_quorum = 3
successors = 10
stabilize_interval_s = 0.5
request_timeout_ms = 250
max_datagram_bytes = 1400
)";

TEST(LiveConfig, GoodFileGivesEveryValue) {
  auto c = parse(kGood);
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_EQ(c->listen.address().to_string(), "127.0.0.1");
  EXPECT_EQ(c->listen.port(), 7400);
  EXPECT_EQ(c->identity, "/etc/kg/peer.key");  // relative to the file's folder
  EXPECT_EQ(c->data_dir, "/var/lib/kittengrad");
  EXPECT_EQ(c->namespaces, (std::vector<std::string>{"default", "music"}));
  EXPECT_EQ(c->bootstrap, (std::vector<std::string>{"127.0.0.1:7401", "10.0.0.2:7400"}));
  EXPECT_EQ(c->sync, SyncLevel::kNormal);
  EXPECT_EQ(c->log_level, LogLevel::kDebug);
  EXPECT_EQ(c->peer.replication, 4);
  EXPECT_EQ(c->peer.write_quorum, 3);
  EXPECT_EQ(c->peer.read_quorum, 1);  // the scenario's default
  EXPECT_EQ(c->peer.successors, 10);
  EXPECT_EQ(c->peer.stabilize_interval, 500 * kMicrosPerMs);
  EXPECT_EQ(c->peer.fix_fingers_interval, 10 * kMicrosPerSecond);  // default
  EXPECT_EQ(c->peer.request_timeout, 250 * kMicrosPerMs);
  EXPECT_EQ(c->peer.max_datagram_bytes, 1400u);
}

TEST(LiveConfig, DefaultsForOptionalKeys) {
  auto c = parse("listen = \"10.1.2.3:9000\"\nidentity = \"/k\"\ndata_dir = \"d\"\n");
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_EQ(c->namespaces, std::vector<std::string>{"default"});
  EXPECT_TRUE(c->bootstrap.empty());
  EXPECT_EQ(c->sync, SyncLevel::kFull);
  EXPECT_EQ(c->log_level, LogLevel::kInfo);
  EXPECT_EQ(c->peer.replication, 3);
  EXPECT_EQ(c->peer.max_datagram_bytes, 1200u);
}

TEST(LiveConfig, InlineAndDottedOverlayTablesReadTheSame) {
  const std::string base = "listen = \"127.0.0.1:1\"\nidentity = \"k\"\ndata_dir = \"d\"\n";
  auto inl = parse(base + "overlay = { replication = 5, successors = 9 }\n");
  ASSERT_TRUE(inl.ok()) << inl.error().detail;
  EXPECT_EQ(inl->peer.replication, 5);
  EXPECT_EQ(inl->peer.successors, 9);
  auto dotted = parse(base + "overlay.replication = 2\n");
  ASSERT_TRUE(dotted.ok()) << dotted.error().detail;
  EXPECT_EQ(dotted->peer.replication, 2);
}

TEST(LiveConfig, SyntaxErrorNamesTheLine) {
  EXPECT_EQ(refusal("listen = \"127.0.0.1:7400\"\nidentity = \n").substr(0, 12), "peer.toml:2:");
}

TEST(LiveConfig, UnknownTopLevelKeyNamedWithLine) {
  const std::string m = refusal("listen = \"127.0.0.1:7400\"\nidentity = \"k\"\ndata_dir = \"d\"\nlisten_port = 3\n");
  EXPECT_NE(m.find("peer.toml:4: listen_port: unknown key"), std::string::npos) << m;
}

TEST(LiveConfig, UnknownOverlayKeyNamedWithLine) {
  const std::string m = refusal(kGood + "stabilise_interval_s = 1\n");
  EXPECT_NE(m.find("peer.toml:16: overlay.stabilise_interval_s: unknown key"), std::string::npos) << m;
  EXPECT_EQ(m.find("join_rate_per_s"), std::string::npos) << "lists a key it refuses: " << m;
}

TEST(LiveConfig, BadOverlayValueUsesTheScenarioChecks) {
  std::string text = kGood;
  text.replace(text.find("write_quorum = 3"), 16, "write_quorum = 5");
  const std::string m = refusal(text);
  EXPECT_NE(m.find("peer.toml:11: overlay.write_quorum"), std::string::npos) << m;
  text = kGood;
  text.replace(text.find("max_datagram_bytes = 1400"), 25, "max_datagram_bytes = 100");
  const std::string m2 = refusal(text);
  EXPECT_NE(m2.find("peer.toml:15: overlay.max_datagram_bytes"), std::string::npos) << m2;
}

TEST(LiveConfig, ScenarioOnlyOverlayKeysAreRefused) {
  for (const std::string key : {"peers = 10", "bootstrap = \"join\"", "join_rate_per_s = 5",
                                "namespaces = [\"a\"]"}) {
    const std::string m = refusal(kGood + key + "\n");
    const std::string name = key.substr(0, key.find(' '));
    EXPECT_NE(m.find("peer.toml:16: overlay." + name + ": not a live peer's key"), std::string::npos)
        << m;
  }
}

TEST(LiveConfig, BadTopLevelValuesNamedWithLine) {
  struct Case {
    std::string line;
    std::string expect;
  };
  const Case cases[] = {
      {"sync = \"fast\"", "peer.toml:4: sync: must be \"full\""},
      {"log_level = \"loud\"", "peer.toml:4: log_level: must be"},
      {"namespaces = [\"a b\"]", "peer.toml:4: namespaces: names must be"},
      {"namespaces = []", "peer.toml:4: namespaces: must name at least one"},
      {"namespaces = \"default\"", "peer.toml:4: namespaces: must be an array of strings"},
      {"bootstrap = [\"127.0.0.1\"]", "peer.toml:4: bootstrap: '127.0.0.1': expected HOST:PORT"},
      {"bootstrap = [\"127.0.0.1:0\"]", "peer.toml:4: bootstrap: '127.0.0.1:0': the port"},
      {"bootstrap = [7400]", "peer.toml:4: bootstrap: must be an array of strings"},
      {"metrics_listen = \"127.0.0.1\"", "peer.toml:4: metrics_listen: '127.0.0.1': expected HOST:PORT"},
      {"overlay = 3", "peer.toml:4: overlay: must be a table"},
  };
  const std::string base = "listen = \"127.0.0.1:7400\"\nidentity = \"k\"\ndata_dir = \"d\"\n";
  for (const Case& c : cases) {
    const std::string m = refusal(base + c.line + "\n");
    EXPECT_NE(m.find(c.expect), std::string::npos) << c.line << " -> " << m;
  }
}

TEST(LiveConfig, ListenMustBeAReachableAddress) {
  const std::string rest = "identity = \"k\"\ndata_dir = \"d\"\n";
  EXPECT_NE(refusal("listen = \"0.0.0.0:7400\"\n" + rest).find("peer.toml:1: listen: must be the address other peers reach"),
            std::string::npos);
  EXPECT_NE(refusal("listen = \"[::]:7400\"\n" + rest).find("peer.toml:1: listen: must be the address other peers reach"),
            std::string::npos);
  EXPECT_NE(refusal("listen = \"localhost\"\n" + rest).find("listen: 'localhost': expected HOST:PORT"),
            std::string::npos);
  EXPECT_NE(refusal("listen = 7400\n" + rest).find("peer.toml:1: listen: must be a string (got an integer)"),
            std::string::npos);
}

TEST(LiveConfig, MissingRequiredKeysAreNamed) {
  EXPECT_NE(refusal("identity = \"k\"\ndata_dir = \"d\"\n").find("listen: missing"), std::string::npos);
  EXPECT_NE(refusal("listen = \"127.0.0.1:1\"\ndata_dir = \"d\"\n").find("identity: missing"),
            std::string::npos);
  EXPECT_NE(refusal("listen = \"127.0.0.1:1\"\nidentity = \"k\"\n").find("data_dir: missing"),
            std::string::npos);
}

TEST(LiveConfig, UnreadableFileIsNamed) {
  auto c = load_peer_config("/nonexistent/peer.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().detail.find("/nonexistent/peer.toml"), std::string::npos);
}

}  // namespace
}  // namespace kittengrad::live
