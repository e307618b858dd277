// Tests of analyse_overlay on graphs small enough to check by hand: rings, Chord fingers,
// stars, chains, the empty graph and a single node, plus the seeded source sample.
#include "kittengrad/analysis/overlay_graph.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace kittengrad::analysis {
namespace {

using Edges = std::vector<std::vector<std::uint32_t>>;
using Histogram = std::vector<std::int64_t>;

constexpr std::size_t kAllSources = 1 << 20;

// p -> p + 1 (mod n).
Edges directed_ring(std::uint32_t n, std::uint32_t first = 0, Edges edges = {}) {
  edges.resize(first + n);
  for (std::uint32_t i = 0; i < n; ++i) edges[first + i].push_back(first + (i + 1) % n);
  return edges;
}

// Chord on a full ring of 2^k nodes: p -> p + 2^i (mod 2^k) for i < k.
Edges chord_ring(std::uint32_t k) {
  const std::uint32_t n = 1u << k;
  Edges edges(n);
  for (std::uint32_t p = 0; p < n; ++p) {
    for (std::uint32_t i = 0; i < k; ++i) edges[p].push_back((p + (1u << i)) % n);
  }
  return edges;
}

// 0 -> 1 -> ... -> n-1: the eccentricity of v is n-1-v, so sources matter.
Edges chain(std::uint32_t n) {
  Edges edges(n);
  for (std::uint32_t i = 0; i + 1 < n; ++i) edges[i].push_back(i + 1);
  return edges;
}

TEST(OverlayGraph, EmptyGraphHasNothing) {
  const OverlayGraphStats s = analyse_overlay({}, 64, 1);
  EXPECT_EQ(s.nodes, 0);
  EXPECT_EQ(s.edges, 0);
  EXPECT_EQ(s.strongly_connected_components, 0);
  EXPECT_EQ(s.largest_component, 0);
  EXPECT_EQ(s.hop_diameter, 0);
  EXPECT_EQ(s.sampled_sources, 0);
  EXPECT_TRUE(s.in_degree_histogram.empty());
}

TEST(OverlayGraph, SingleNodeWithSelfLoopIsOneComponentOfDiameterZero) {
  const OverlayGraphStats s = analyse_overlay({{0, 0}}, 64, 1);
  EXPECT_EQ(s.nodes, 1);
  EXPECT_EQ(s.edges, 0);  // self-loops are ignored
  EXPECT_EQ(s.strongly_connected_components, 1);
  EXPECT_EQ(s.largest_component, 1);
  EXPECT_EQ(s.hop_diameter, 0);
  EXPECT_EQ(s.sampled_sources, 1);
  EXPECT_EQ(s.in_degree_histogram, (Histogram{1}));
}

TEST(OverlayGraph, DirectedRingIsOneComponentOfDiameterNMinusOne) {
  const OverlayGraphStats s = analyse_overlay(directed_ring(10), 64, 1);
  EXPECT_EQ(s.nodes, 10);
  EXPECT_EQ(s.edges, 10);
  EXPECT_EQ(s.strongly_connected_components, 1);
  EXPECT_EQ(s.largest_component, 10);
  EXPECT_EQ(s.hop_diameter, 9);
  EXPECT_EQ(s.sampled_sources, 10);
  EXPECT_EQ(s.in_degree_histogram, (Histogram{0, 10}));
}

TEST(OverlayGraph, DuplicateEdgesAndSelfLoopsAreIgnored) {
  const Edges edges = {{0, 1, 1, 1, 0}, {1, 0, 0}, {2, 0, 0}};
  const OverlayGraphStats s = analyse_overlay(edges, 64, 1);
  EXPECT_EQ(s.nodes, 3);
  EXPECT_EQ(s.edges, 3);                          // 0->1, 1->0, 2->0
  EXPECT_EQ(s.strongly_connected_components, 2);  // {0, 1} and {2}
  EXPECT_EQ(s.largest_component, 2);
  EXPECT_EQ(s.hop_diameter, 2);  // 2 -> 0 -> 1
  EXPECT_EQ(s.in_degree_histogram, (Histogram{1, 1, 1}));
}

TEST(OverlayGraph, ChordFingersOnRingOfTwoToTheKHaveDiameterK) {
  for (std::uint32_t k = 1; k <= 8; ++k) {
    SCOPED_TRACE(k);
    const OverlayGraphStats s = analyse_overlay(chord_ring(k), kAllSources, 1);
    const std::int64_t n = std::int64_t{1} << k;
    EXPECT_EQ(s.nodes, n);
    // For k = 1 the only finger of each node is its successor: one edge per node.
    EXPECT_EQ(s.edges, n * k);
    EXPECT_EQ(s.strongly_connected_components, 1);
    EXPECT_EQ(s.largest_component, n);
    EXPECT_EQ(s.hop_diameter, k);  // 2^k - 1 needs all k fingers, one hop each
    EXPECT_EQ(s.sampled_sources, n);
    Histogram expected(k + 1, 0);
    expected[k] = n;
    EXPECT_EQ(s.in_degree_histogram, expected);
  }
}

TEST(OverlayGraph, SampledChordStillFindsDiameterKBecauseEveryNodeLooksAlike) {
  const OverlayGraphStats s = analyse_overlay(chord_ring(14), 16, 7);
  EXPECT_EQ(s.nodes, 1 << 14);
  EXPECT_EQ(s.strongly_connected_components, 1);
  EXPECT_EQ(s.hop_diameter, 14);
  EXPECT_EQ(s.sampled_sources, 16);
}

TEST(OverlayGraph, TwoDisjointRingsAreTwoComponents) {
  const Edges edges = directed_ring(7, 5, directed_ring(5));
  const OverlayGraphStats s = analyse_overlay(edges, 64, 1);
  EXPECT_EQ(s.nodes, 12);
  EXPECT_EQ(s.edges, 12);
  EXPECT_EQ(s.strongly_connected_components, 2);
  EXPECT_EQ(s.largest_component, 7);
  EXPECT_EQ(s.hop_diameter, 6);  // unreachable pairs do not count
  EXPECT_EQ(s.in_degree_histogram, (Histogram{0, 12}));
}

TEST(OverlayGraph, InwardStarHasOneHubAndNoCycles) {
  Edges edges(6);
  for (std::uint32_t leaf = 1; leaf < 6; ++leaf) edges[leaf].push_back(0);
  const OverlayGraphStats s = analyse_overlay(edges, 64, 1);
  EXPECT_EQ(s.edges, 5);
  EXPECT_EQ(s.strongly_connected_components, 6);
  EXPECT_EQ(s.largest_component, 1);
  EXPECT_EQ(s.hop_diameter, 1);
  EXPECT_EQ(s.in_degree_histogram, (Histogram{5, 0, 0, 0, 0, 1}));
}

TEST(OverlayGraph, TwoWayStarIsOneComponentOfDiameterTwo) {
  Edges edges(6);
  for (std::uint32_t leaf = 1; leaf < 6; ++leaf) {
    edges[leaf].push_back(0);
    edges[0].push_back(leaf);
  }
  const OverlayGraphStats s = analyse_overlay(edges, 64, 1);
  EXPECT_EQ(s.edges, 10);
  EXPECT_EQ(s.strongly_connected_components, 1);
  EXPECT_EQ(s.largest_component, 6);
  EXPECT_EQ(s.hop_diameter, 2);  // leaf -> hub -> other leaf
  EXPECT_EQ(s.in_degree_histogram, (Histogram{0, 5, 0, 0, 0, 1}));
}

TEST(OverlayGraph, ChainIsOneComponentPerNode) {
  const OverlayGraphStats s = analyse_overlay(chain(5), 64, 1);
  EXPECT_EQ(s.edges, 4);
  EXPECT_EQ(s.strongly_connected_components, 5);
  EXPECT_EQ(s.largest_component, 1);
  EXPECT_EQ(s.hop_diameter, 4);
  EXPECT_EQ(s.in_degree_histogram, (Histogram{1, 4}));
}

TEST(OverlayGraph, NoSourcesMeansNoDiameter) {
  const OverlayGraphStats s = analyse_overlay(directed_ring(10), 0, 1);
  EXPECT_EQ(s.sampled_sources, 0);
  EXPECT_EQ(s.hop_diameter, 0);
  EXPECT_EQ(s.strongly_connected_components, 1);
}

TEST(OverlayGraph, SourceSampleIsDeterministicPerSeed) {
  // On a chain the diameter seen is n-1 minus the smallest sampled source, so it exposes
  // which sources were drawn.
  const Edges edges = chain(1000);
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    SCOPED_TRACE(seed);
    const OverlayGraphStats a = analyse_overlay(edges, 8, seed);
    const OverlayGraphStats b = analyse_overlay(edges, 8, seed);
    EXPECT_EQ(a.sampled_sources, 8);
    EXPECT_EQ(a.hop_diameter, b.hop_diameter);
    EXPECT_LE(a.hop_diameter, 999);
    // Eight distinct sources: the smallest is at most 992, so the diameter is >= 7.
    EXPECT_GE(a.hop_diameter, 7);
  }
}

TEST(OverlayGraph, SampleOfAllButOneSourceMissesAtMostOne) {
  // Nine distinct sources out of ten on a chain of ten: the diameter is 9 unless node 0
  // was the one left out, then 8.
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    SCOPED_TRACE(seed);
    const OverlayGraphStats s = analyse_overlay(chain(10), 9, seed);
    EXPECT_EQ(s.sampled_sources, 9);
    EXPECT_GE(s.hop_diameter, 8);
  }
}

}  // namespace
}  // namespace kittengrad::analysis
