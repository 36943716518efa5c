#include "bindings.hpp"

namespace sagpr_bindings {

// Placeholder until this part of the core lands.
void bind_ewald(py::module_&) {}

}  // namespace sagpr_bindings
