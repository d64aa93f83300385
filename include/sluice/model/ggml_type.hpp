// The model layer names the ggml types through the kernels layer, which owns them.
#pragma once

#include "sluice/kernels/ggml_type.hpp"

namespace sluice::model {
using kernels::ggml_type;
using kernels::ggml_type_traits;
using kernels::name_of;
using kernels::traits_of;
}  // namespace sluice::model
