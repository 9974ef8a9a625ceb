# Builds llama.cpp from the pinned source tree that scripts/deps.sh unpacks outside the repository.
if(NOT LLAMA_CPP_DIR)
    set(_default "$ENV{DIFR_CACHE}")
    if(NOT _default)
        set(_default "$ENV{HOME}/.cache/difr")
    endif()
    file(GLOB _candidates "${_default}/src/llama.cpp-py*")
    list(SORT _candidates)
    list(POP_BACK _candidates LLAMA_CPP_DIR)
endif()
if(NOT EXISTS "${LLAMA_CPP_DIR}/include/llama.h")
    message(FATAL_ERROR "llama.cpp source not found (LLAMA_CPP_DIR='${LLAMA_CPP_DIR}'). Run scripts/deps.sh first.")
endif()
message(STATUS "difr: llama.cpp from ${LLAMA_CPP_DIR}")

set(LLAMA_BUILD_TESTS OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_EXAMPLES OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_TOOLS ON CACHE BOOL "" FORCE)       # declared, built only when a target needs them
set(LLAMA_BUILD_SERVER ON CACHE BOOL "" FORCE)
set(LLAMA_BUILD_COMMON ON CACHE BOOL "" FORCE)
set(LLAMA_BUILD_APP OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_UI OFF CACHE BOOL "" FORCE)
set(LLAMA_USE_PREBUILT_UI OFF CACHE BOOL "" FORCE)
set(LLAMA_OPENSSL OFF CACHE BOOL "" FORCE)
set(LLAMA_ALL_WARNINGS OFF CACHE BOOL "" FORCE)
set(BUILD_SHARED_LIBS OFF CACHE BOOL "" FORCE)
set(GGML_NATIVE ON CACHE BOOL "")
# Batch invariance: with llamafile's sgemm, a row's logits depend on how many tokens share its matmul, so a
# sequence scored in one prefill differs from the same sequence generated token by token. ggml's own kernels
# compute every output element the same way whatever the batch (see docs/engine.md for the measurements).
set(GGML_LLAMAFILE OFF CACHE BOOL "" FORCE)
add_subdirectory(${LLAMA_CPP_DIR} ${CMAKE_BINARY_DIR}/llama.cpp EXCLUDE_FROM_ALL SYSTEM)
