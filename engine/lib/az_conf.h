/* Where an az:// target lives and how to authorize against it: az:// URIs, connection strings,
 * and credential resolution from options and the environment. Pure functions: the environment
 * is read through a callback so tests are hermetic.
 *
 * Credential precedence (the first that is present wins):
 *  1. engine options: a connection string, an account key, a SAS token, a bearer token, or
 *     "anonymous" -- at most one of them;
 *  2. AZURE_STORAGE_CONNECTION_STRING;
 *  3. AZURE_STORAGE_KEY (with AZURE_STORAGE_ACCOUNT, which must match the URI's account if set);
 *  4. AZURE_STORAGE_SAS_TOKEN;
 *  5. AZURE_STORAGE_BEARER_TOKEN: a Microsoft Entra (AAD) access token obtained elsewhere, e.g.
 *     `az account get-access-token --resource https://storage.azure.com/ --query accessToken`;
 *  6. anonymous (public containers).
 * The endpoint is the endpoint option, else the connection string's, else
 * https://<account>.blob.core.windows.net.
 *
 * Errors and descriptions name where a secret came from, never the secret. */
#ifndef FIODLIO_AZ_CONF_H
#define FIODLIO_AZ_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/azure_auth.h"

/* Buffer sizes, NUL included. Azure: accounts 3-24 characters, containers 3-63, blob names up
 * to 1024; emulators take longer account names, so leave room. */
#define AZ_ACCOUNT_MAX 64
#define AZ_CONTAINER_MAX 64
#define AZ_BLOB_NAME_MAX 1025
#define AZ_ENDPOINT_MAX 512
#define AZ_KEY_B64_MAX 256
#define AZ_SAS_MAX 2048
/* Entra access tokens are JWTs of a few kilobytes */
#define AZ_TOKEN_MAX 8192
#define AZ_SOURCE_MAX 512

#define AZ_DEV_ACCOUNT "devstoreaccount1"
#define AZ_DEV_ENDPOINT "http://127.0.0.1:10000/devstoreaccount1"

struct az_uri {
	char account[AZ_ACCOUNT_MAX];
	char container[AZ_CONTAINER_MAX];
	char prefix[AZ_BLOB_NAME_MAX]; /* may be empty; used as given */
};

/* az://<account>/<container>[/<prefix>] */
int az_conf_parse_uri(const char *uri, struct az_uri *out, char *err, size_t errsz);

/* http(s)://host[:port][/path] without query or fragment; trailing slashes are dropped. */
int az_conf_normalize_endpoint(const char *in, char *out, size_t outsz, char *err, size_t errsz);

struct az_conn {
	char account[AZ_ACCOUNT_MAX];	    /* empty when only BlobEndpoint is given */
	char key_b64[AZ_KEY_B64_MAX];	    /* secret; empty when absent */
	char sas[AZ_SAS_MAX];		    /* secret; empty when absent */
	char blob_endpoint[AZ_ENDPOINT_MAX]; /* resolved and normalized */
	bool dev_storage;
};

/* Key=Value pairs separated by ';' (keys case-insensitive): DefaultEndpointsProtocol,
 * AccountName, AccountKey, BlobEndpoint, SharedAccessSignature, EndpointSuffix,
 * UseDevelopmentStorage=true; the other services' endpoints are accepted and ignored. */
int az_conf_parse_connection_string(const char *s, struct az_conn *out, char *err, size_t errsz);
void az_conf_conn_clear(struct az_conn *c);

enum az_cred_kind {
	AZ_CRED_ANONYMOUS,
	AZ_CRED_SHARED_KEY,
	AZ_CRED_SAS,
	AZ_CRED_BEARER,
};

/* Engine options; NULL or "" when not set. */
struct az_cred_opts {
	const char *endpoint;
	const char *connection_string;
	const char *account_key; /* base64 */
	const char *sas_token;
	const char *bearer_token;
	bool anonymous;
};

/* Returns the variable's value or NULL, like getenv(3). */
typedef const char *(*az_getenv_fn)(void *ctx, const char *name);

/* getenv(3) for az_conf_resolve_credentials in production. */
const char *az_conf_process_env(void *ctx, const char *name);

struct az_cred {
	enum az_cred_kind kind;
	char account[AZ_ACCOUNT_MAX];
	char endpoint[AZ_ENDPOINT_MAX];
	struct azure_key key;	 /* AZ_CRED_SHARED_KEY */
	char sas[AZ_SAS_MAX];	 /* AZ_CRED_SAS, without a leading '?' */
	char token[AZ_TOKEN_MAX]; /* AZ_CRED_BEARER */
	char source[AZ_SOURCE_MAX]; /* e.g. "shared key from AZURE_STORAGE_CONNECTION_STRING ..." */
};

int az_conf_resolve_credentials(const struct az_cred_opts *opts, const char *uri_account,
				az_getenv_fn env, void *env_ctx, struct az_cred *out, char *err,
				size_t errsz);
/* Wipes the secrets. */
void az_conf_cred_clear(struct az_cred *c);

const char *az_conf_cred_kind_name(enum az_cred_kind kind);

#endif
