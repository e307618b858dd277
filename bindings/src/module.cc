// module.cc — the `kittengrad._native` extension module. Users import `kittengrad`, whose
// Python code wraps these pieces (analysis/kittengrad/); the module itself is not an API.
#include "bindings.h"

PYBIND11_MODULE(_native, m) {
  m.doc() = "kittengrad's C++ core, scenarios and simulator, for the kittengrad package";
  kittengrad::bindings::bind_scenario(m);
  kittengrad::bindings::bind_simulation(m);
  kittengrad::bindings::bind_core(m);
  kittengrad::bindings::bind_durability(m);
}
