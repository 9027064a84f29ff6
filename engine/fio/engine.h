/* Shared between the fio hooks and the load-time ABI guard. */
#ifndef FIODLIO_ENGINE_H
#define FIODLIO_ENGINE_H

#include "fio.h"
#include "optgroup.h"

extern struct ioengine_ops ioengine;

/* 0 when the running fio matches the one this engine was built against. */
int fiodlio_abi_ok(void);

#endif
