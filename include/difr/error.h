// Errors with context: what went wrong and where (file, sequence, position), so the message says what to fix.
#pragma once

#include <stdexcept>
#include <string>

namespace difr {

class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace difr
