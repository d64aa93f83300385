// IEEE half and bfloat16 <-> float, portable (no F16C needed).
#pragma once

#include <cstdint>
#include <cstring>

namespace sluice::kernels {

inline float fp16_to_fp32(std::uint16_t h) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
    std::uint32_t exp = (h >> 10) & 0x1F;
    std::uint32_t mant = h & 0x3FF;
    std::uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400) == 0) {
                mant <<= 1;
                --exp;
            }
            mant &= 0x3FF;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 0x1F) {
        bits = sign | 0x7F800000 | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Round to nearest even, as F16C's vcvtps2ph with rounding mode 0.
inline std::uint16_t fp32_to_fp16(float f) noexcept {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    const std::uint32_t sign = (x >> 16) & 0x8000;
    const std::uint32_t abs = x & 0x7FFFFFFF;
    if (abs >= 0x7F800000) return static_cast<std::uint16_t>(sign | 0x7C00 | (abs > 0x7F800000 ? 0x200 : 0));
    if (abs >= 0x477FF000) return static_cast<std::uint16_t>(sign | 0x7C00);  // overflow -> inf
    if (abs < 0x38800000) {  // subnormal or zero in half
        // At most 2^-25 (half the smallest subnormal, a tie that rounds to even) becomes zero;
        // this also keeps the shifts below under 32 bits.
        if (abs <= 0x33000000) return static_cast<std::uint16_t>(sign);
        const std::uint32_t shift = 113 - (abs >> 23);
        const std::uint32_t mant = (abs & 0x7FFFFF) | 0x800000;
        std::uint32_t h = mant >> (shift + 13);
        const std::uint32_t rem = mant & ((1u << (shift + 13)) - 1);
        const std::uint32_t half = 1u << (shift + 12);
        if (rem > half || (rem == half && (h & 1))) ++h;
        return static_cast<std::uint16_t>(sign | h);
    }
    std::uint32_t h = ((abs - 0x38000000) >> 13);
    const std::uint32_t rem = abs & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
    return static_cast<std::uint16_t>(sign | h);
}

inline float bf16_to_fp32(std::uint16_t b) noexcept {
    const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

}  // namespace sluice::kernels
