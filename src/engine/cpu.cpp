#include "difr/cpu.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#ifndef DIFR_CPU_ISA
#error "DIFR_CPU_ISA must name the ISA level ggml was built for (cmake/llama.cmake)"
#endif

namespace difr {

namespace {

#if defined(__x86_64__) || defined(__i386__)
struct Regs {
    unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned subleaf) {
    Regs r;
    if (!__get_cpuid_count(leaf, subleaf, &r.a, &r.b, &r.c, &r.d)) r = Regs{};
    return r;
}

// XCR0: which register states the OS saves on a context switch. A feature the CPU has but whose state the
// OS does not save (or, for AMX, does not let this process use) faults like a missing instruction.
unsigned long long xcr0() {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<unsigned long long>(hi) << 32) | lo;
}

bool bit(unsigned word, int n) {
    return (word >> n) & 1u;
}
#endif

}  // namespace

CpuInfo cpu_info() {
    CpuInfo info;
#if defined(__x86_64__) || defined(__i386__)
    const unsigned max_ext = __get_cpuid_max(0x80000000u, nullptr);
    if (max_ext >= 0x80000004u) {
        char brand[49] = {};
        for (unsigned i = 0; i < 3; ++i) {
            const Regs r = cpuid(0x80000002u + i, 0);
            std::memcpy(brand + 16 * i, &r, 16);
        }
        info.model = brand;
        const auto first = info.model.find_first_not_of(' ');
        const auto last = info.model.find_last_not_of(' ');
        info.model = first == std::string::npos ? "" : info.model.substr(first, last - first + 1);
    }
    const unsigned max_leaf = __get_cpuid_max(0, nullptr);
    const Regs l1 = cpuid(1, 0);
    const Regs l7 = max_leaf >= 7 ? cpuid(7, 0) : Regs{};
    const Regs l71 = max_leaf >= 7 ? cpuid(7, 1) : Regs{};
    const unsigned long long x = bit(l1.c, 27) ? xcr0() : 0;  // OSXSAVE
    const bool os_avx = (x & 0x6) == 0x6;                     // SSE and AVX state
    const bool os_avx512 = os_avx && (x & 0xe0) == 0xe0;      // opmask, ZMM_Hi256, Hi16_ZMM
    const bool os_amx = (x & 0x60000) == 0x60000;             // XTILECFG, XTILEDATA
    auto add = [&](bool has, const char *name) {
        if (has) info.features.emplace_back(name);
    };
    add(bit(l1.c, 20), "sse4_2");
    add(bit(l1.c, 28) && os_avx, "avx");
    add(bit(l7.b, 5) && os_avx, "avx2");
    add(bit(l1.c, 12) && os_avx, "fma");
    add(bit(l1.c, 29) && os_avx, "f16c");
    add(bit(l7.b, 8), "bmi2");
    add(bit(l71.a, 4) && os_avx, "avx_vnni");
    add(bit(l7.b, 16) && os_avx512, "avx512f");
    add(bit(l7.b, 17) && os_avx512, "avx512dq");
    add(bit(l7.b, 30) && os_avx512, "avx512bw");
    add(bit(l7.b, 31) && os_avx512, "avx512vl");
    add(bit(l7.c, 1) && os_avx512, "avx512_vbmi");
    add(bit(l7.c, 11) && os_avx512, "avx512_vnni");
    add(bit(l71.a, 5) && os_avx512, "avx512_bf16");
    add(bit(l7.d, 23) && os_avx512, "avx512_fp16");
    add(bit(l7.d, 24) && os_amx, "amx_tile");
    add(bit(l7.d, 25) && os_amx, "amx_int8");
    add(bit(l7.d, 22) && os_amx, "amx_bf16");
#endif
    return info;
}

std::string build_isa() {
    return DIFR_CPU_ISA;
}

std::vector<std::string> build_isa_features() {
    const std::string isa = build_isa();
    if (isa == "x86-64-v3") return {"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"};
    if (isa == "x86-64-v2") return {"sse4_2"};
    return {};
}

std::vector<std::string> build_isa_missing() {
    const CpuInfo info = cpu_info();
    std::vector<std::string> missing;
    for (const std::string &f : build_isa_features())
        if (std::find(info.features.begin(), info.features.end(), f) == info.features.end())
            missing.push_back(f);
    return missing;
}

namespace {

// Runs before any other static initialiser of the program (priority 101 precedes the default), so that a
// CPU without the build's instructions gets a message instead of SIGILL in ggml's initialisation or first
// kernel. Plain C I/O only: the C++ streams may not be constructed yet.
__attribute__((constructor(101))) void isa_check_at_start() {
    const std::vector<std::string> missing = build_isa_missing();
    if (missing.empty()) return;
    std::string list;
    for (const std::string &f : missing) list += (list.empty() ? "" : ", ") + f;
    std::fprintf(stderr,
                 "difr: this build's kernels are compiled for %s, but this CPU lacks %s.\n"
                 "difr: rebuild for this machine: scripts/build.sh -DDIFR_CPU_ISA=x86-64-v2 (docs/engine.md, "
                 "\"Build policy\")\n",
                 DIFR_CPU_ISA, list.c_str());
    std::_Exit(5);  // docs/engine.md: exit 5, this machine cannot run this build
}

}  // namespace

}  // namespace difr
