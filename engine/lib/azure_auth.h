/* Azure Blob request authorization: Shared Key signing, shared access signatures (SAS) and
 * bearer tokens. Pure functions (OpenSSL HMAC-SHA256, no network).
 *
 * Versions:
 *  - Requests are signed with the Shared Key string-to-sign of x-ms-version 2015-02-21 and later
 *    (a zero Content-Length is signed as an empty line; headers with empty values are kept,
 *    which is the 2016-05-31 rule). The engine sends x-ms-version AZURE_API_VERSION.
 *  - SAS tokens are generated with sv=AZURE_SAS_VERSION and the string-to-sign layouts Microsoft
 *    documents for "2020-12-06 and later" (service SAS: 16 fields incl. signedEncryptionScope;
 *    account SAS: 10 fields incl. signedEncryptionScope, ending with a newline). Older layouts
 *    (service SAS 2018-11-09, account SAS 2015-04-05) are produced when asked for an older sv.
 *
 * Secrets (account keys, SAS signatures, tokens) never appear in error messages. */
#ifndef FIODLIO_AZURE_AUTH_H
#define FIODLIO_AZURE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AZURE_API_VERSION "2021-12-02"
#define AZURE_SAS_VERSION "2021-12-02"

/* Storage account keys are 64 bytes; leave room for other emulators' keys. */
#define AZURE_KEY_MAX 128
/* "Sun, 11 Oct 2009 21:49:13 GMT" plus NUL */
#define AZURE_DATE_SIZE 30
/* base64(HMAC-SHA256) plus NUL */
#define AZURE_SIG_SIZE 45

struct azure_key {
	unsigned char bytes[AZURE_KEY_MAX];
	size_t len;
};

struct azure_header {
	const char *name;
	const char *value;
};

/* Decodes a base64 account key. The error message never contains the key. */
int azure_auth_key_from_base64(struct azure_key *key, const char *b64, char *err, size_t errsz);
void azure_auth_key_clear(struct azure_key *key);

/* RFC 1123 date for x-ms-date, independent of the locale. */
int azure_auth_date(time_t t, char *out, size_t outsz);

/* Base64(HMAC-SHA256(key, msg)). */
int azure_auth_hmac_b64(const struct azure_key *key, const char *msg, size_t len, char *out,
			size_t outsz);

/* The Shared Key string-to-sign of a Blob service request.
 *
 * url is the request URL exactly as sent (scheme://host[:port]/path?query): the path goes into
 * the canonicalized resource as encoded, so a path-style endpoint
 * (http://127.0.0.1:10000/devstoreaccount1/c/b) yields "/devstoreaccount1/devstoreaccount1/c/b"
 * as the emulator expects. Query names are lowercased, names and values URL-decoded, names
 * sorted, and repeated names' values sorted and comma-joined.
 *
 * hdrs are all request headers that will be sent (name lookup is case-insensitive; a header
 * given twice is an error, as the service answers 400). The standard headers are taken by name,
 * every x-ms-* header is canonicalized; other headers are ignored.
 *
 * Returns the string length, or -errno with a message in err. */
int azure_auth_string_to_sign(const char *method, const char *url, const struct azure_header *hdrs,
			      size_t nhdrs, const char *account, char *out, size_t outsz, char *err,
			      size_t errsz);

/* "Authorization: SharedKey <account>:<signature>" for curl_slist_append(). */
int azure_auth_shared_key_header(const char *method, const char *url,
				 const struct azure_header *hdrs, size_t nhdrs, const char *account,
				 const struct azure_key *key, char *out, size_t outsz, char *err,
				 size_t errsz);

/* "Authorization: Bearer <token>". */
int azure_auth_bearer_header(const char *token, char *out, size_t outsz, char *err, size_t errsz);

/* A service SAS for one container (blob NULL or "") or one blob. Unused optional fields are
 * NULL or "". permissions letters are signed in the order given: Azure wants its documented
 * order (racwd for blobs, racwdl for containers). */
struct azure_sas_service {
	const char *version; /* NULL: AZURE_SAS_VERSION */
	const char *permissions;
	const char *start;  /* ISO 8601 UTC, e.g. 2019-04-29T22:18:26Z */
	const char *expiry; /* required unless identifier is given */
	const char *container;
	const char *blob;
	const char *identifier; /* stored access policy */
	const char *ip;		/* "168.1.5.60" or "168.1.5.60-168.1.5.70" */
	const char *protocol;	/* "https" or "https,http" */
	const char *snapshot;
	const char *encryption_scope; /* 2020-12-06 and later only */
	const char *cache_control, *content_disposition, *content_encoding, *content_language,
		*content_type; /* rscc rscd rsce rscl rsct */
};

/* An account SAS. services defaults to "b", resource_types to "sco" when NULL. */
struct azure_sas_account {
	const char *version;
	const char *permissions;
	const char *services;
	const char *resource_types;
	const char *start;
	const char *expiry;
	const char *ip;
	const char *protocol;
	const char *encryption_scope;
};

int azure_auth_sas_service_string_to_sign(const char *account, const struct azure_sas_service *p,
					  char *out, size_t outsz, char *err, size_t errsz);
/* The token without a leading '?': sv=..&..&sig=.., every value URL-encoded. */
int azure_auth_sas_service(const char *account, const struct azure_key *key,
			   const struct azure_sas_service *p, char *out, size_t outsz, char *err,
			   size_t errsz);

int azure_auth_sas_account_string_to_sign(const char *account, const struct azure_sas_account *p,
					  char *out, size_t outsz, char *err, size_t errsz);
int azure_auth_sas_account(const char *account, const struct azure_key *key,
			   const struct azure_sas_account *p, char *out, size_t outsz, char *err,
			   size_t errsz);

/* Checks that a user-given SAS token looks like one (query syntax, has sv= and sig=) without
 * ever echoing it. A leading '?' is allowed. */
int azure_auth_sas_check(const char *sas, char *err, size_t errsz);

/* url + '?' or '&' + sas (a leading '?' of sas is dropped). */
int azure_auth_sas_append(const char *url, const char *sas, char *out, size_t outsz, char *err,
			  size_t errsz);

#endif
