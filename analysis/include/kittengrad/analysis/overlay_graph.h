// kittengrad/analysis/overlay_graph.h — what the routing graph of an overlay looks like:
// connectivity, in-degrees and hop diameter, computed with Boost.Graph.
//
// The oracle dumps the routing graph at chosen times (an edge p -> q when q is in p's
// finger table or successor list) and stores these statistics in the run file.
//
//   std::vector<std::vector<std::uint32_t>> out(n);   // out[p] = peers p routes to
//   OverlayGraphStats s = analyse_overlay(out, /*bfs_sources_max=*/64, /*seed=*/1);
#pragma once

#include <cstdint>
#include <vector>

namespace kittengrad::analysis {

struct OverlayGraphStats {
  std::int64_t nodes = 0;
  std::int64_t edges = 0;                          // distinct directed edges
  std::int64_t strongly_connected_components = 0;
  std::int64_t largest_component = 0;              // nodes in the largest SCC
  std::int64_t hop_diameter = 0;                   // max BFS eccentricity over the sources
  std::int64_t sampled_sources = 0;                // BFS sources used (all when n is small)
  std::vector<std::int64_t> in_degree_histogram;   // [d] = nodes of in-degree d
};

// out_edges[p] lists the nodes p has an edge to (duplicates and self-loops are ignored).
// Sources for the diameter are all nodes when n <= bfs_sources_max, else a seeded sample.
// Unreachable pairs do not count towards the diameter (see strongly_connected_components).
[[nodiscard]] OverlayGraphStats analyse_overlay(
    const std::vector<std::vector<std::uint32_t>>& out_edges, std::size_t bfs_sources_max,
    std::uint64_t seed);

}  // namespace kittengrad::analysis
