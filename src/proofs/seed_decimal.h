// Decimal arithmetic for the weighted seed proof (gonka's deterministic-sampling contract, section 2): the
// General Decimal Arithmetic operations that CPython's decimal (libmpdec) and Go's apd perform under
// prec = 10 and ROUND_HALF_EVEN, for the magnitudes the contract's pipeline produces. Internal to
// src/proofs (seed_proof.cpp); tests reach it through detsample_weights.
#pragma once

#include <cstdint>
#include <string>

namespace difr::detail {

using i128 = __int128;

// The value c * 10^e. Results of arithmetic carry at most 10 significant digits; parsed strings up to 27.
struct Decimal {
    i128 c = 0;
    int64_t e = 0;
};

// Python's Decimal(str) (exact, no rounding) for [sign] digits [. digits] [e|E [sign] digits]. Throws
// InputError naming `what` for anything else (NaN, Infinity, spaces), for more than 27 significant digits,
// or an exponent beyond +-100000.
Decimal decimal_parse(const std::string &text, const std::string &what);
int decimal_cmp(const Decimal &a, const Decimal &b);
Decimal decimal_add(const Decimal &a, const Decimal &b);  // operands of at most 10 digits
Decimal decimal_sub(const Decimal &a, const Decimal &b);
Decimal decimal_mul(const Decimal &a, const Decimal &b);  // at most 10 and 27 digits
Decimal decimal_div(const Decimal &a, const Decimal &b);  // divisor at most 20 digits, non-zero
// e^x correctly rounded to 10 digits (computed in binary128, whose error is far below half a unit of the
// 10th digit: a misrounding needs the exact value within ~1e-28 of a rounding boundary). Throws InputError
// for x above 230000 or below -2300000, where the result would leave the decimal context's exponent range.
Decimal decimal_exp(const Decimal &x);
// to_integral_value() under ROUND_HALF_EVEN, as an integer (|value| below 2^62).
int64_t decimal_to_integer(const Decimal &x);
std::string decimal_str(const Decimal &x);  // for messages and tests: coefficient and exponent

}  // namespace difr::detail
