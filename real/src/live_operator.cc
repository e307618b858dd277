// live_operator.cc — stats and health (see the header).
#include "live_operator.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include "kittengrad/real/live_address.h"
#include "kittengrad/real/live_log.h"
#include "live_admin_client.h"

namespace kittengrad::live {

namespace {

constexpr int kUnhealthy = 1;
constexpr int kBadUsage = 2;

using ItemMap = std::map<std::string, std::variant<std::uint64_t, std::string>>;

ItemMap to_map(const std::vector<admin::Item>& items) {
  ItemMap m;
  for (const admin::Item& i : items) m[i.name] = i.value;
  return m;
}

std::optional<std::string> text(const ItemMap& m, const std::string& name) {
  auto it = m.find(name);
  if (it == m.end()) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(&it->second)) return *s;
  return std::to_string(std::get<std::uint64_t>(it->second));
}

std::uint64_t number(const ItemMap& m, const std::string& name) {
  auto it = m.find(name);
  if (it == m.end()) return 0;
  const auto* n = std::get_if<std::uint64_t>(&it->second);
  return n ? *n : 0;
}

struct Tree {
  std::optional<admin::Item> leaf;
  std::map<std::string, std::unique_ptr<Tree>> kids;
  std::vector<std::string> order;  // children in the order first seen
};

std::string render(const Tree& t) {
  if (t.leaf) {
    if (const auto* n = std::get_if<std::uint64_t>(&t.leaf->value)) return std::to_string(*n);
    return json_quote(std::get<std::string>(t.leaf->value));
  }
  bool array = !t.order.empty();
  for (std::size_t i = 0; i < t.order.size() && array; ++i) array = t.order[i] == std::to_string(i);
  std::string out = array ? "[" : "{";
  for (std::size_t i = 0; i < t.order.size(); ++i) {
    if (i > 0) out += ", ";
    if (!array) out += json_quote(t.order[i]) + ": ";
    out += render(*t.kids.at(t.order[i]));
  }
  return out + (array ? "]" : "}");
}

Result<asio::ip::udp::endpoint> peer_endpoint(const std::string& command, const OperatorOptions& o) {
  auto ep = resolve_host_port(o.peer);
  if (!ep) std::cerr << "kittengrad " << command << ": --peer " << ep.error().detail << "\n";
  return ep;
}

struct NamespaceHealth {
  std::string ns;
  std::vector<std::string> problems;
  std::vector<std::string> notes;
};

// The other end of a ring link must name `self`: ask it.
void check_link(const std::string& ns, const std::string& self, const std::string& role,
                const std::string& neighbour, const std::string& their_key,
                const std::string& their_role, const OperatorOptions& o, NamespaceHealth& h) {
  auto ep = resolve_host_port(neighbour);
  if (!ep) {
    h.problems.push_back(role + " " + neighbour + " is not an address: " + ep.error().detail);
    return;
  }
  auto theirs = ask_peer(*ep, admin::Query::kRing, o.timeout);
  if (!theirs) {
    h.problems.push_back(role + " " + neighbour + " does not answer: " + theirs.error().detail);
    return;
  }
  const ItemMap m = to_map(*theirs);
  const auto named = text(m, "ns/" + ns + "/" + their_key);
  if (!named) {
    h.problems.push_back(role + " " + neighbour + " has no " + their_role + " in " + ns);
  } else if (*named != self) {
    h.problems.push_back(role + " " + neighbour + " names " + *named + " as its " + their_role +
                         ", not this peer");
  } else {
    h.notes.push_back(role + " " + neighbour + " agrees");
  }
}

}  // namespace

std::string items_json(const std::vector<admin::Item>& items) {
  Tree root;
  for (const admin::Item& item : items) {
    Tree* t = &root;
    std::size_t start = 0;
    while (true) {
      const auto slash = item.name.find('/', start);
      const std::string part = item.name.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      auto& kid = t->kids[part];
      if (!kid) {
        kid = std::make_unique<Tree>();
        t->order.push_back(part);
      }
      t = kid.get();
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    t->leaf = item;
  }
  return render(root);
}

int run_stats(const OperatorOptions& o) {
  auto ep = peer_endpoint("stats", o);
  if (!ep) return kBadUsage;
  auto items = ask_peer(*ep, admin::Query::kStats, o.timeout);
  if (!items) {
    std::cerr << "kittengrad stats: " << items.error().detail << "\n";
    return kUnhealthy;
  }
  if (o.json) {
    std::cout << items_json(*items) << "\n";
    return 0;
  }
  std::size_t width = 0;
  for (const admin::Item& i : *items) width = std::max(width, i.name.size());
  for (const admin::Item& i : *items) {
    std::string value;
    if (const auto* n = std::get_if<std::uint64_t>(&i.value)) {
      value = std::to_string(*n);
    } else {
      value = std::get<std::string>(i.value);
    }
    std::cout << i.name << std::string(width + 2 - i.name.size(), ' ') << value << "\n";
  }
  return 0;
}

int run_health(const OperatorOptions& o) {
  auto ep = peer_endpoint("health", o);
  if (!ep) return kBadUsage;
  auto items = ask_peer(*ep, admin::Query::kRing, o.timeout);
  if (!items) {
    if (o.json) {
      std::cout << "{\"peer\": " << json_quote(o.peer) << ", \"healthy\": false, \"problems\": ["
                << json_quote(items.error().detail) << "]}\n";
    }
    std::cerr << "kittengrad health: unhealthy: " << items.error().detail << "\n";
    return kUnhealthy;
  }
  const ItemMap m = to_map(*items);
  const std::string self = text(m, "peer/address").value_or(o.peer);
  std::vector<std::string> namespaces;
  for (const admin::Item& i : *items) {
    const std::string suffix = "/joined";
    if (i.name.starts_with("ns/") && i.name.ends_with(suffix)) {
      namespaces.push_back(i.name.substr(3, i.name.size() - 3 - suffix.size()));
    }
  }
  std::vector<NamespaceHealth> all;
  std::vector<std::string> peer_problems;
  if (number(m, "peer/leaving") != 0) peer_problems.push_back("the peer is leaving");
  if (namespaces.empty()) peer_problems.push_back("the peer serves no namespace");
  for (const std::string& ns : namespaces) {
    NamespaceHealth h{.ns = ns, .problems = {}, .notes = {}};
    const std::string pre = "ns/" + ns + "/";
    const std::uint64_t r = number(m, pre + "replication");
    const std::uint64_t reachable = number(m, pre + "replicas_reachable");
    const auto succ = text(m, pre + "successor/0");
    const auto pred = text(m, pre + "predecessor");
    if (number(m, pre + "joined") == 0) {
      h.problems.push_back("not joined");
    } else if (!succ && !pred && r <= 1) {
      h.notes.push_back("alone in its ring (replication 1)");
    } else {
      if (succ) {
        check_link(ns, self, "successor", *succ, "predecessor", "predecessor", o, h);
      } else {
        h.problems.push_back("no successor");
      }
      if (pred) {
        check_link(ns, self, "predecessor", *pred, "successor/0", "successor", o, h);
      } else {
        h.problems.push_back("no predecessor");
      }
    }
    if (number(m, pre + "under_replicated") != 0) {
      h.problems.push_back("keys under-replicated: " + std::to_string(reachable) + " of " +
                           std::to_string(r) + " replicas reachable from this peer's successor list");
    } else {
      h.notes.push_back(std::to_string(reachable) + " of " + std::to_string(r) + " replicas");
    }
    if (const std::uint64_t repairs = number(m, pre + "repairs_in_flight"); repairs > 0) {
      h.notes.push_back(std::to_string(repairs) + " repairs in flight");
    }
    all.push_back(std::move(h));
  }
  bool healthy = peer_problems.empty();
  for (const NamespaceHealth& h : all) healthy = healthy && h.problems.empty();

  if (o.json) {
    auto list = [](const std::vector<std::string>& v) {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_quote(v[i]);
      return out + "]";
    };
    std::cout << "{\"peer\": " << json_quote(self) << ", \"healthy\": " << (healthy ? "true" : "false")
              << ", \"problems\": " << list(peer_problems) << ", \"namespaces\": {";
    for (std::size_t i = 0; i < all.size(); ++i) {
      std::cout << (i ? ", " : "") << json_quote(all[i].ns) << ": {\"healthy\": "
                << (all[i].problems.empty() ? "true" : "false") << ", \"problems\": "
                << list(all[i].problems) << ", \"notes\": " << list(all[i].notes) << "}";
    }
    std::cout << "}}\n";
  } else {
    std::cout << (healthy ? "healthy: " : "unhealthy: ") << self << "\n";
    for (const std::string& p : peer_problems) std::cout << "  problem: " << p << "\n";
    for (const NamespaceHealth& h : all) {
      for (const std::string& p : h.problems) std::cout << "  " << h.ns << ": problem: " << p << "\n";
      for (const std::string& n : h.notes) std::cout << "  " << h.ns << ": " << n << "\n";
    }
  }
  return healthy ? 0 : kUnhealthy;
}

}  // namespace kittengrad::live
