/*
 * CRC-32 (zip's, zlib's crc32()) with the same interface: dlio_crc32(0, buf, len), and
 * chained by passing the previous result.  On x86-64 with PCLMULQDQ it folds 64 bytes a
 * step with carry-less multiplications (Gopal et al., "Fast CRC Computation for Generic
 * Polynomials Using PCLMULQDQ Instruction", Intel 2009), several times zlib's table speed;
 * elsewhere it is zlib's.  The npz generator and the checkpoint zips hash every payload
 * byte with it.
 */
#ifndef FIODLIO_DLIO_CRC32_H
#define FIODLIO_DLIO_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t dlio_crc32(uint32_t crc, const void *buf, size_t len);
/* zlib's, for comparison (tests, benchmarks) */
uint32_t dlio_crc32_soft(uint32_t crc, const void *buf, size_t len);

#endif
