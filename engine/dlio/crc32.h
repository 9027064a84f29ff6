/*
 * CRC-32 (zip's, zlib's crc32()) with the same interface: dlio_crc32(0, buf, len), and
 * chained by passing the previous result.  On x86-64 with PCLMULQDQ it folds 64 bytes a
 * step with carry-less multiplications (Gopal et al., "Fast CRC Computation for Generic
 * Polynomials Using PCLMULQDQ Instruction", Intel 2009), several times zlib's table speed,
 * and 128 bytes a step with 256-bit VPCLMULQDQ where the CPU has it, twice that again;
 * elsewhere it is zlib's.  The npz generator and the checkpoint zips hash every payload
 * byte with it.
 */
#ifndef FIODLIO_DLIO_CRC32_H
#define FIODLIO_DLIO_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t dlio_crc32(uint32_t crc, const void *buf, size_t len);
/* the fastest implementation this CPU runs: 0 zlib's, 1 PCLMULQDQ, 2 VPCLMULQDQ (256-bit) */
int dlio_crc32_level(void);
/* dlio_crc32() with at most implementation `level` (tests compare each with zlib's) */
uint32_t dlio_crc32_at(int level, uint32_t crc, const void *buf, size_t len);
/* zlib's, for comparison (tests, benchmarks) */
uint32_t dlio_crc32_soft(uint32_t crc, const void *buf, size_t len);

#endif
