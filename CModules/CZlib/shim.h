// zlib, for the mock upstream's gzip knob (and later the logger's inflate). Debian's zlib1g-dev.
#include <zlib.h>

/* CRC-32C (Castagnoli), for the spool's frames: the SSE4.2 crc32 instruction (8 bytes a cycle) where the CPU has
 * it, else a bitwise fallback. zlib's CRC-32 was a few percent of a logger thread writing the spool. */
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static inline uint32_t kgb_crc32c_sse42(uint32_t crc, const unsigned char *data, size_t length) {
    uint64_t c = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, data, 8);
        c = __builtin_ia32_crc32di(c, word);
        data += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *data++);
        length--;
    }
    return ~c32;
}
#endif
static inline uint32_t kgb_crc32c_portable(uint32_t crc, const unsigned char *data, size_t length) {
    uint32_t c = ~crc;
    while (length-- > 0) {
        c ^= *data++;
        for (int bit = 0; bit < 8; bit++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return ~c;
}
static inline uint32_t kgb_crc32c(uint32_t crc, const void *data, size_t length) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return kgb_crc32c_sse42(crc, (const unsigned char *)data, length);
#endif
    return kgb_crc32c_portable(crc, (const unsigned char *)data, length);
}
