// kittengrad/scenario_peer_config.h — a scenario's [overlay] protocol keys as the core's
// PeerConfig: the one mapping the simulator and the live peer's config file share, so a
// key means the same in both worlds. Library kg_scenario_peer (the loader itself,
// kg_scenarios, stays on toml++ alone).
#pragma once

#include "kittengrad/config.h"
#include "kittengrad/scenario.h"

namespace kittengrad {

// Every other PeerConfig field keeps its default.
[[nodiscard]] PeerConfig peer_config_of(const OverlaySection& overlay);

}  // namespace kittengrad
