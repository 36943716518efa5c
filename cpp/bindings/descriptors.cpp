#include "bindings.hpp"

namespace sagpr_bindings {

// Placeholder until this part of the core lands.
void bind_descriptors(py::module_&) {}

}  // namespace sagpr_bindings
