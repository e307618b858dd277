// message_equal.h — equality of messages, field by field, written apart from the codec's
// field list (the message structs have no operator==): each case names every field of its
// struct through a structured binding, so a field added to a message does not compile
// until it is compared, and the visitor has one case per kind.
#pragma once

#include "kittengrad/messages.h"

namespace kittengrad::codec_samples {

[[nodiscard]] bool same_body(const Body& a, const Body& b);
// Same namespace and body (entries' namespaces included).
[[nodiscard]] bool same_message(const Message& a, const Message& b);

}  // namespace kittengrad::codec_samples
