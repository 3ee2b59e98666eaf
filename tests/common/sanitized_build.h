// Whether this test binary (and the senti it starts, built in the same folder) runs under
// AddressSanitizer, and the allowances that brings for the few assertions that measure the process
// rather than its answers.
#pragma once

namespace senti::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitized = true;
#else
inline constexpr bool kAddressSanitized = false;
#endif
#else
inline constexpr bool kAddressSanitized = false;
#endif

// ASan keeps freed memory in a quarantine (256 MB by default) before reusing it, so a process's RSS
// grows with what it has freed, not only with what it holds: an RSS bound then gets this much more.
// Leaks are LeakSanitizer's to find in that build; the plain build checks the bounds as written.
inline constexpr long kRssSlackKb = kAddressSanitized ? 256L * 1024 : 0;

// Requests a sanitized server answers per second are a fraction (~1/5 to 1/20) of the plain build's:
// throughput floors are divided by this.
inline constexpr long kThroughputDivisor = kAddressSanitized ? 10 : 1;

// Wall-time bounds on work the server does (finishing the batch in flight before it exits, say) are
// multiplied by this; each such bound stays far below what the bug it guards against would take.
inline constexpr double kTimeScale = kAddressSanitized ? 3.0 : 1.0;

}  // namespace senti::test
