// kittengrad/overloaded.h — std::visit with one lambda per alternative:
//   std::visit(Overloaded{[](const Ping&) {...}, [](const Pong&) {...}}, body);
// A visitor with no generic case makes a new Body alternative a compile error until it
// is handled, which the codec and the message tests rely on.
#pragma once

namespace kittengrad {

template <typename... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <typename... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace kittengrad
