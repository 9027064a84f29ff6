/* The one helper every module uses to fill a caller's error buffer. */
#ifndef FIODLIO_ERRBUF_H
#define FIODLIO_ERRBUF_H

#include <stddef.h>

/* printf into err (errlen bytes, always terminated); nothing when err is NULL. */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
