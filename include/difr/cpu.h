// The CPU difr runs on and the instruction set its kernels were built for (docs/engine.md, "Build policy").
// A reference built for one fixed x86-64 level computes the same logits on every host that can run it; this
// header says which level that is, what the running CPU offers, and refuses to start where the CPU lacks
// an instruction the build needs (instead of dying later with SIGILL inside a kernel).
#pragma once

#include <string>
#include <vector>

namespace difr {

struct CpuInfo {
    std::string model;  // the CPUID brand string, e.g. "AMD EPYC 9B45"
    std::vector<std::string>
        features;  // SIMD features the CPU and the OS both enable, in /proc/cpuinfo's names
};

CpuInfo cpu_info();

// The ISA level ggml's CPU kernels were compiled for: "x86-64-v3", "x86-64-v2" or "native".
std::string build_isa();
// CPU features (cpu_info's names) that build_isa() needs; empty for native (the build machine's own set).
std::vector<std::string> build_isa_features();
// The features of build_isa_features() this CPU lacks; empty when every kernel can run here.
std::vector<std::string> build_isa_missing();

}  // namespace difr
