// Decimal arithmetic with 10 significant digits and round-half-even. Every operation computes the exact
// result (or the exact result's leading digits plus a sticky digit) in a 128-bit integer and rounds once, as
// the General Decimal Arithmetic specification requires; exp goes through binary128.
#include "seed_decimal.h"

#include <quadmath.h>

#include <stdexcept>

#include "difr/error.h"

namespace difr::detail {

namespace {

using u128 = unsigned __int128;
constexpr int kPrec = 10;

u128 pow10u(int n) {
    u128 p = 1;
    for (int i = 0; i < n; ++i) p *= 10;
    return p;
}

int ndigits(u128 u) {
    int d = 1;
    while (u >= 10) {
        u /= 10;
        ++d;
    }
    return d;
}

u128 uabs(i128 c) {
    return c < 0 ? (u128)(-c) : (u128)c;
}

// Rounds c * 10^e to kPrec digits, half to even. A caller that dropped non-zero digits below c appends them
// as a sticky last digit first (c * 10 + 1), so an exact half is never confused with more than half.
Decimal round_prec(i128 c, int64_t e) {
    const bool neg = c < 0;
    u128 u = uabs(c);
    const int d = ndigits(u);
    if (d <= kPrec) return {c, e};
    int k = d - kPrec;
    const u128 p = pow10u(k);
    u128 q = u / p;
    const u128 r = u % p;
    const u128 half = p / 2;
    if (r > half || (r == half && (q & 1))) ++q;
    if (q == pow10u(kPrec)) {
        q /= 10;
        ++k;
    }
    return {neg ? -(i128)q : (i128)q, e + k};
}

int sign(const Decimal &x) {
    return x.c > 0 ? 1 : (x.c < 0 ? -1 : 0);
}

}  // namespace

Decimal decimal_parse(const std::string &s, const std::string &what) {
    auto bad = [&](const std::string &why) {
        throw InputError(what + ": '" + s + "' is not a decimal number the contract accepts (" + why + ")");
    };
    size_t i = 0;
    bool neg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    u128 c = 0;
    int64_t e = 0;
    int sig = 0, n_digits = 0;
    bool dot = false;
    for (; i < s.size(); ++i) {
        const char ch = s[i];
        if (ch == '.') {
            if (dot) bad("two decimal points");
            dot = true;
            continue;
        }
        if (ch < '0' || ch > '9') break;
        ++n_digits;
        if (dot) --e;
        if (c == 0 && ch == '0') continue;
        if (++sig > 27) bad("more than 27 significant digits");
        c = c * 10 + (u128)(ch - '0');
    }
    if (n_digits == 0) bad("no digits");
    if (i < s.size()) {
        if (s[i] != 'e' && s[i] != 'E') bad("unexpected character");
        ++i;
        bool eneg = false;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i == s.size()) bad("no exponent digits");
        int64_t x = 0;
        for (; i < s.size(); ++i) {
            if (s[i] < '0' || s[i] > '9') bad("unexpected character in the exponent");
            x = x * 10 + (s[i] - '0');
            if (x > 100000) bad("exponent out of range");
        }
        e += eneg ? -x : x;
    }
    return {neg ? -(i128)c : (i128)c, e};
}

int decimal_cmp(const Decimal &a, const Decimal &b) {
    const int sa = sign(a), sb = sign(b);
    if (sa != sb) return sa < sb ? -1 : 1;
    if (sa == 0) return 0;
    const u128 ua = uabs(a.c), ub = uabs(b.c);
    const int64_t adj_a = a.e + ndigits(ua), adj_b = b.e + ndigits(ub);
    int mag;
    if (adj_a != adj_b) {
        mag = adj_a < adj_b ? -1 : 1;
    } else {
        // Same leading digit position: align (the shift is at most the digit count difference).
        u128 xa = ua, xb = ub;
        if (a.e > b.e) xa *= pow10u((int)(a.e - b.e));
        if (b.e > a.e) xb *= pow10u((int)(b.e - a.e));
        mag = xa < xb ? -1 : (xa > xb ? 1 : 0);
    }
    return sa > 0 ? mag : -mag;
}

Decimal decimal_add(const Decimal &a, const Decimal &b) {
    if (a.c == 0) return round_prec(b.c, b.e);
    if (b.c == 0) return round_prec(a.c, a.e);
    if (ndigits(uabs(a.c)) > 27 || ndigits(uabs(b.c)) > 27)
        throw std::logic_error("decimal_add: operand too long");
    // Work at the unit 36 digits below the larger operand's leading digit; an operand reaching below it is
    // truncated there with a sticky digit (it is then tiny next to the other, and the sum has >= 26 digits).
    const int64_t top = std::max(a.e + ndigits(uabs(a.c)), b.e + ndigits(uabs(b.c)));
    const int64_t q = top - 36;
    i128 sum = 0;
    int sticky = 0;
    for (const Decimal *x : {&a, &b}) {
        if (x->e >= q) {
            sum += x->c * (i128)pow10u((int)(x->e - q));
        } else {
            const int64_t drop = q - x->e;
            const u128 u = uabs(x->c);
            const u128 kept = drop >= 38 ? 0 : u / pow10u((int)drop);
            const bool rest = drop >= 38 ? u != 0 : u % pow10u((int)drop) != 0;
            sum += x->c < 0 ? -(i128)kept : (i128)kept;
            if (rest) sticky = x->c < 0 ? -1 : 1;
        }
    }
    if (sticky != 0) return round_prec(sum * 10 + sticky, q - 1);
    return round_prec(sum, q);
}

Decimal decimal_sub(const Decimal &a, const Decimal &b) {
    return decimal_add(a, Decimal{-b.c, b.e});
}

Decimal decimal_mul(const Decimal &a, const Decimal &b) {
    if (ndigits(uabs(a.c)) + ndigits(uabs(b.c)) > 37)
        throw std::logic_error("decimal_mul: operands too long");
    return round_prec(a.c * b.c, a.e + b.e);
}

Decimal decimal_div(const Decimal &a, const Decimal &b) {
    if (b.c == 0) throw std::logic_error("decimal_div: division by zero");
    if (ndigits(uabs(b.c)) > 20) throw std::logic_error("decimal_div: divisor too long");
    if (a.c == 0) return {0, 0};
    const u128 ua = uabs(a.c), ub = uabs(b.c);
    const int s = 37 - ndigits(ua);  // ua * 10^s < 10^37; the quotient keeps >= 16 digits
    const u128 num = ua * pow10u(s);
    u128 quo = num / ub;
    const bool rest = num % ub != 0;
    int64_t e = a.e - s - b.e;
    if (rest) {
        quo = quo * 10 + 1;
        --e;
    }
    const bool neg = (a.c < 0) != (b.c < 0);
    return round_prec(neg ? -(i128)quo : (i128)quo, e);
}

Decimal decimal_exp(const Decimal &x) {
    if (x.c == 0) return {1, 0};
    __float128 xf = (__float128)x.c;
    if (x.e != 0) xf *= powq(10.0Q, (__float128)x.e);
    if (xf > 230000 || xf < -2300000)
        throw InputError("exp(" + decimal_str(x) + ") leaves the decimal context's range");
    // e^x = m * 10^n with m in [1, 10): n = floor(x / ln 10), m = e^(x - n ln 10).
    const __float128 x10 = xf / M_LN10q;
    int64_t n = (int64_t)floorq(x10);
    __float128 m = expq((x10 - (__float128)n) * M_LN10q);
    if (m >= 10) {
        m /= 10;
        ++n;
    } else if (m < 1) {
        m *= 10;
        --n;
    }
    const __float128 m9 = m * 1e9Q;
    int64_t coef = (int64_t)floorq(m9);
    const __float128 frac = m9 - (__float128)coef;
    if (frac > 0.5Q || (frac == 0.5Q && (coef & 1))) ++coef;
    if (coef == 10000000000LL) {
        coef = 1000000000LL;
        ++n;
    }
    return {(i128)coef, n - 9};
}

int64_t decimal_to_integer(const Decimal &x) {
    if (x.e >= 0) {
        if (x.e > 18) throw std::logic_error("decimal_to_integer: too large");
        return (int64_t)(x.c * (i128)pow10u((int)x.e));
    }
    const int64_t k = -x.e;
    const u128 u = uabs(x.c);
    if (k > 38) return 0;
    const u128 p = pow10u((int)k);
    u128 q = u / p;
    const u128 r = u % p;
    const u128 half = p / 2;
    if (r > half || (r == half && (q & 1))) ++q;
    return x.c < 0 ? -(int64_t)q : (int64_t)q;
}

std::string decimal_str(const Decimal &x) {
    u128 u = uabs(x.c);
    std::string digits;
    do {
        digits.insert(digits.begin(), char('0' + (int)(u % 10)));
        u /= 10;
    } while (u != 0);
    return (x.c < 0 ? "-" : "") + digits + "E" + std::to_string(x.e);
}

}  // namespace difr::detail
