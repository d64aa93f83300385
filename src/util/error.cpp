#include "sluice/util/error.hpp"

namespace sluice {

const char* to_string(errc code) noexcept {
    switch (code) {
        case errc::io: return "io";
        case errc::invalid_format: return "invalid_format";
        case errc::unsupported: return "unsupported";
        case errc::missing_key: return "missing_key";
        case errc::wrong_type: return "wrong_type";
        case errc::out_of_range: return "out_of_range";
        case errc::invalid_argument: return "invalid_argument";
    }
    return "unknown";
}

}  // namespace sluice
