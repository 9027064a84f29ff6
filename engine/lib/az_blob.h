/* Request pieces of the Blob service that need no network: URLs with encoded blob names, block
 * ids for Put Block and the Put Block List body. */
#ifndef FIODLIO_AZ_BLOB_H
#define FIODLIO_AZ_BLOB_H

#include <stddef.h>
#include <stdint.h>

/* The service's limit of committed blocks per block blob. */
#define AZ_BLOB_MAX_BLOCKS 50000
/* Length of every block id (base64 of 24 bytes, so without '=' padding) plus NUL. */
#define AZ_BLOB_BLOCK_ID_SIZE 33

/* endpoint "/" container ["/" blob] ["?" query]. The blob name is percent-encoded except for
 * '/' and RFC 3986 unreserved characters, so the path that is signed is the path that is sent.
 * query is appended as given (already encoded). Returns the length or -errno. */
int az_blob_url(const char *endpoint, const char *container, const char *blob, const char *query,
		char *out, size_t outsz);

/* prefix and name joined by exactly one '/' (no '/' when the prefix is empty). */
int az_blob_join(const char *prefix, const char *name, char *out, size_t outsz);

/* The block id of the index-th block: all ids of a blob have the same length, as the service
 * requires, and their decoded forms sort in index order. Base64, not URL-encoded. */
int az_blob_block_id(uint64_t index, char *out, size_t outsz);

/* "comp=block&blockid=<URL-encoded id>" for Put Block. */
int az_blob_put_block_query(uint64_t index, char *out, size_t outsz);

/* Bytes needed for the Put Block List body of n blocks, NUL included. */
size_t az_blob_block_list_size(uint64_t nblocks);

/* The Put Block List body committing blocks 0..n-1 (as Latest) in order. */
int az_blob_block_list_xml(uint64_t nblocks, char *out, size_t outsz);

/* The same for blocks named by arbitrary indexes (the engine uses byte offsets, so any write
 * pattern yields ids that sort in blob order), committed in the order given. */
int az_blob_block_list_xml_ids(const uint64_t *ids, size_t n, char *out, size_t outsz);

/* The text of the first <tag>...</tag> in xml[0..len), XML entities decoded, truncated to fit
 * (an error message is still useful cut short). Returns its length, or -ENOENT. */
int az_blob_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t outsz);

/* Called for each blob of a List Blobs page: its full name and Content-Length. Non-zero stops
 * the walk and is returned. */
typedef int (*az_blob_list_fn)(void *arg, const char *name, uint64_t size);

/* Walks a List Blobs response body. The continuation marker (empty on the last page) goes to
 * marker. Returns the number of blobs, -EINVAL on a malformed body, -ENAMETOOLONG when a name
 * or the marker does not fit, or what fn returned. */
int az_blob_parse_list(const char *xml, size_t len, az_blob_list_fn fn, void *arg, char *marker,
		       size_t markersz);

#endif
