/*
 * Where an S3 job's credentials, region and endpoint come from, resolved the way the AWS CLI
 * and SDKs do, so a job behaves like `aws s3` on the same machine.
 *
 * Credentials, first match wins:
 *   1. anonymous, when asked for (unsigned requests)
 *   2. explicit access key + secret key (engine options)
 *   3. an explicit profile (engine option): the shared files, profile required to exist
 *   4. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 *   5. the shared files, profile AWS_PROFILE or "default"
 * Shared files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials, sections [name]),
 * then AWS_CONFIG_FILE (default ~/.aws/config, sections [profile name] and [default]).
 * Region: option, AWS_REGION, AWS_DEFAULT_REGION, the profile's region, "us-east-1".
 * Endpoint: option, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url, else
 * AWS's own for the region. CA bundle: option, AWS_CA_BUNDLE, the profile's ca_bundle.
 *
 * The environment and the home directory are parameters, so tests are hermetic. Nothing
 * here prints, and no message or source string ever contains a secret.
 */
#ifndef FIODLIO_AWS_CREDS_H
#define FIODLIO_AWS_CREDS_H

#include <stddef.h>

#define AWS_CREDS_DEFAULT_REGION "us-east-1"

/* Returns the variable's value or NULL; like getenv(3). */
typedef const char *(*aws_creds_getenv_fn)(const char *name, void *arg);

struct aws_creds_input {
	/* Engine options; NULL or "" means not given. */
	const char *access_key;
	const char *secret_key;
	const char *session_token;
	const char *profile;
	const char *region;
	const char *endpoint;
	const char *ca_bundle;
	int anonymous;
	/* NULL: the process environment (getenv). */
	aws_creds_getenv_fn getenv_fn;
	void *getenv_arg;
	/* NULL: $HOME from getenv_fn. Used for ~/.aws and a leading "~/" in file variables. */
	const char *home;
};

struct aws_creds {
	int anonymous;
	char access_key[129];
	char secret_key[257];
	char session_token[8193];
	char region[65];
	char endpoint[1025];
	int endpoint_custom; /* 0: AWS's endpoint for the region, derived here */
	char ca_bundle[1025];
	char profile[129]; /* the profile the shared files were read for */
	/* Human-readable, secret-free: which source each value came from. */
	char source[512];
	char region_source[256];
	char endpoint_source[256];
};

/* Returns 0, or -errno with a message in err (naming file:line for a malformed file).
 * On error *out holds no secret. */
int aws_creds_resolve(const struct aws_creds_input *in, struct aws_creds *out, char *err,
		      size_t errlen);

/* Overwrites the secrets; call when done with the credentials. */
void aws_creds_clear(struct aws_creds *c);

#endif
