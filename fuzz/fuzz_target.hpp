// The libFuzzer entry point every target in fuzz/ defines. Built either with
// libFuzzer (`fuzz` preset) or with replay_main.cpp, which runs a corpus once as a
// regression test in the normal build.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
