// bindings.h — the parts of the `kittengrad._native` module, one function per file.
#pragma once

#include <pybind11/pybind11.h>

namespace kittengrad::bindings {

void bind_scenario(pybind11::module_& m);
void bind_simulation(pybind11::module_& m);
void bind_core(pybind11::module_& m);
void bind_durability(pybind11::module_& m);

}  // namespace kittengrad::bindings
