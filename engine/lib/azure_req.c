#include "lib/azure_req.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/az_blob.h"
#include "lib/azure_auth.h"
#include "lib/codec.h"

/* endpoint + container + a 1024-character name percent-encoded as UTF-8 + query + SAS */
#define URL_MAX (AZ_ENDPOINT_MAX + AZ_CONTAINER_MAX + 3 * 4 * AZ_BLOB_NAME_MAX + AZ_SAS_MAX + 512)
#define QUERY_MAX (3 * 4 * AZ_BLOB_NAME_MAX + 512)
#define MAX_HEADERS 8

int azure_client_init(struct azure_client *cl, const struct storage_conf *conf,
		      const char *account, char *err, size_t errlen)
{
	struct az_cred_opts o = {
		.endpoint = conf->az_endpoint,
		.connection_string = conf->az_connection_string,
		.account_key = conf->az_account_key,
		.sas_token = conf->az_sas_token,
		.bearer_token = conf->az_bearer_token,
		.anonymous = conf->az_anonymous,
	};
	struct http_conf hc = {
		.ca_file = conf->ca_file,
		.insecure = conf->insecure,
		.connect_timeout_ms = conf->connect_timeout_ms,
		.low_speed_time_s = conf->io_timeout_s,
		.max_retries = conf->retries,
		/* one connection per request in flight, plus one for a block list commit */
		.max_conns = (conf->depth ? conf->depth : 1) + 1,
		.verbose = conf->http_verbose,
	};
	int ret;

	memset(cl, 0, sizeof(*cl));
	ret = az_conf_resolve_credentials(&o, account, az_conf_process_env, NULL, &cl->cred, err,
					  errlen);
	if (ret)
		return ret;
	ret = http_loop_new(&hc, &cl->loop, err, errlen);
	if (ret)
		az_conf_cred_clear(&cl->cred);
	return ret;
}

void azure_client_free(struct azure_client *cl)
{
	if (!cl)
		return;
	http_loop_free(cl->loop);
	cl->loop = NULL;
	az_conf_cred_clear(&cl->cred);
}

int azure_split_path(const char *path, struct az_uri *out, char *err, size_t errlen)
{
	char uri[AZ_ACCOUNT_MAX + AZ_CONTAINER_MAX + AZ_BLOB_NAME_MAX + 8];

	if ((size_t)snprintf(uri, sizeof(uri), "az://%s", path) >= sizeof(uri)) {
		snprintf(err, errlen, "az://%.60s...: blob name longer than %d characters", path,
			 AZ_BLOB_NAME_MAX - 1);
		return -ENAMETOOLONG;
	}
	return az_conf_parse_uri(uri, out, err, errlen);
}

const char *azure_op_name(enum azure_op op)
{
	switch (op) {
	case AZURE_GET_BLOB:
		return "Get Blob";
	case AZURE_PUT_BLOB:
		return "Put Blob";
	case AZURE_PUT_BLOCK:
		return "Put Block";
	case AZURE_PUT_BLOCK_LIST:
		return "Put Block List";
	case AZURE_GET_PROPERTIES:
		return "Get Blob Properties";
	case AZURE_DELETE_BLOB:
		return "Delete Blob";
	case AZURE_LIST_BLOBS:
		return "List Blobs";
	case AZURE_CREATE_CONTAINER:
		return "Create Container";
	}
	return "?";
}

static const char *op_method(enum azure_op op)
{
	switch (op) {
	case AZURE_GET_BLOB:
	case AZURE_LIST_BLOBS:
		return "GET";
	case AZURE_GET_PROPERTIES:
		return "HEAD";
	case AZURE_DELETE_BLOB:
		return "DELETE";
	default:
		return "PUT";
	}
}

static int append_param(char *q, size_t qsz, size_t *len, const char *name, const char *value)
{
	int n = snprintf(q + *len, qsz - *len, "%s%s=", *len ? "&" : "", name);

	if (n < 0 || (size_t)n >= qsz - *len)
		return -ENOSPC;
	*len += (size_t)n;
	n = codec_url_encode(value, strlen(value), 0, q + *len, qsz - *len);
	if (n < 0)
		return n;
	*len += (size_t)n;
	return 0;
}

static int build_query(const struct azure_req *r, char *q, size_t qsz)
{
	char num[24];
	size_t len = 0;

	q[0] = '\0';
	switch (r->op) {
	case AZURE_PUT_BLOCK:
		return az_blob_put_block_query(r->block_id, q, qsz);
	case AZURE_PUT_BLOCK_LIST:
		return snprintf(q, qsz, "comp=blocklist");
	case AZURE_CREATE_CONTAINER:
		return snprintf(q, qsz, "restype=container");
	case AZURE_LIST_BLOBS:
		snprintf(num, sizeof(num), "%u", r->list_max ? r->list_max : 5000);
		if (append_param(q, qsz, &len, "restype", "container") ||
		    append_param(q, qsz, &len, "comp", "list") ||
		    append_param(q, qsz, &len, "maxresults", num) ||
		    (r->list_prefix && *r->list_prefix &&
		     append_param(q, qsz, &len, "prefix", r->list_prefix)) ||
		    (r->list_marker && *r->list_marker &&
		     append_param(q, qsz, &len, "marker", r->list_marker)))
			return -ENOSPC;
		return (int)len;
	default:
		return 0;
	}
}

static int add_header(struct http_req *h, struct azure_header *hdrs, size_t *n,
		      const char *name, const char *value)
{
	char line[256];
	struct curl_slist *l;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	l = curl_slist_append(h->headers, line);
	if (!l)
		return -ENOMEM;
	h->headers = l;
	hdrs[(*n)++] = (struct azure_header){ name, value };
	return 0;
}

int azure_req_prepare(struct http_req *h)
{
	struct azure_req *r = (struct azure_req *)h;
	const struct az_cred *c = &r->client->cred;
	struct azure_header hdrs[MAX_HEADERS];
	char date[AZURE_DATE_SIZE], range[64], clen[24], err[STORAGE_ERR_LEN];
	char auth[AZ_TOKEN_MAX + 64];
	char *query = NULL, *url = NULL;
	size_t nh = 0;
	int ret = -ENOMEM;

	h->method = op_method(r->op);
	query = malloc(QUERY_MAX);
	url = malloc(URL_MAX);
	if (!query || !url)
		goto fail;
	ret = build_query(r, query, QUERY_MAX);
	if (ret < 0)
		goto fail;
	ret = az_blob_url(c->endpoint, r->container, r->blob, query, url, URL_MAX);
	if (ret < 0)
		goto fail;

	azure_auth_date(time(NULL), date, sizeof(date));
	if ((ret = add_header(h, hdrs, &nh, "x-ms-date", date)) ||
	    (ret = add_header(h, hdrs, &nh, "x-ms-version", AZURE_API_VERSION)))
		goto fail;
	if (r->op == AZURE_GET_BLOB && r->range_len) {
		snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, r->range_off,
			 r->range_off + r->range_len - 1);
		if ((ret = add_header(h, hdrs, &nh, "x-ms-range", range)))
			goto fail;
	}
	if (r->op == AZURE_PUT_BLOB &&
	    (ret = add_header(h, hdrs, &nh, "x-ms-blob-type", "BlockBlob")))
		goto fail;
	if (!strcmp(h->method, "PUT")) {
		/* signed, so it must be the value curl sends: curl keeps a given Content-Length */
		snprintf(clen, sizeof(clen), "%zu", h->upload_len);
		if ((ret = add_header(h, hdrs, &nh, "Content-Length", clen)))
			goto fail;
	}

	switch (c->kind) {
	case AZ_CRED_SHARED_KEY:
		ret = azure_auth_shared_key_header(h->method, url, hdrs, nh, c->account, &c->key,
						   auth, sizeof(auth), err, sizeof(err));
		break;
	case AZ_CRED_BEARER:
		ret = azure_auth_bearer_header(c->token, auth, sizeof(auth), err, sizeof(err));
		break;
	case AZ_CRED_SAS: {
		char *signed_url = malloc(URL_MAX);

		ret = -ENOMEM;
		if (signed_url)
			ret = azure_auth_sas_append(url, c->sas, signed_url, URL_MAX, err,
						    sizeof(err));
		free(url);
		url = signed_url;
		auth[0] = '\0';
		break;
	}
	case AZ_CRED_ANONYMOUS:
		ret = 0;
		auth[0] = '\0';
		break;
	}
	if (ret < 0)
		goto fail;
	if (auth[0]) {
		struct curl_slist *l = curl_slist_append(h->headers, auth);

		/* the header held a secret (a bearer token): do not leave it on the stack */
		memset(auth, 0, sizeof(auth));
		if (!l) {
			ret = -ENOMEM;
			goto fail;
		}
		h->headers = l;
	}
	free(query);
	h->url = url;
	return 0;
fail:
	memset(auth, 0, sizeof(auth));
	free(query);
	free(url);
	snprintf(h->curl_err, sizeof(h->curl_err), "cannot build the request: %s",
		 ret == -ENOSPC ? "URL too long" : strerror(-ret));
	return ret < 0 ? ret : -EINVAL;
}

int azure_req_errno(const struct azure_req *r)
{
	const struct http_req *h = &r->http;

	switch (h->curl_code) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		return -ECONNRESET;
	default:
		return -EIO;
	}
	if (h->status >= 200 && h->status < 300)
		return 0;
	switch (h->status) {
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 409:
		return -EEXIST;
	case 400:
	case 416:
		return -EINVAL;
	case 413:
		return -EFBIG;
	case 429:
	case 503:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

void azure_req_error(const struct azure_req *r, char *out, size_t outlen)
{
	const struct http_req *h = &r->http;
	char what[160], msg[160] = "", attempts[32] = "";
	const char *account = r->client ? r->client->cred.account : "?";
	int n;

	if (r->op == AZURE_GET_BLOB && r->range_len)
		snprintf(what, sizeof(what), " bytes %" PRIu64 "-%" PRIu64, r->range_off,
			 r->range_off + r->range_len - 1);
	else if (r->op == AZURE_PUT_BLOCK)
		snprintf(what, sizeof(what), " (block at offset %" PRIu64 ", %zu bytes)",
			 r->block_id, h->upload_len);
	else
		what[0] = '\0';
	if (h->attempts > 1)
		snprintf(attempts, sizeof(attempts), " after %u attempts", h->attempts);

	n = snprintf(out, outlen, "%s %s/%s%s%.200s%s: ", azure_op_name(r->op), account,
		     r->container, r->blob && *r->blob ? "/" : "", r->blob ? r->blob : "", what);
	if (n < 0 || (size_t)n >= outlen)
		return;
	out += n;
	outlen -= (size_t)n;
	if (h->curl_code != CURLE_OK) {
		snprintf(out, outlen, "%s%s", h->curl_err[0] ? h->curl_err : "transfer failed",
			 attempts);
		return;
	}
	if (h->errbody_len &&
	    az_blob_xml_text(h->errbody, h->errbody_len, "Message", msg, sizeof(msg)) > 0) {
		/* the first line; the rest is a request id and a timestamp */
		msg[strcspn(msg, "\r\n")] = '\0';
	}
	n = snprintf(out, outlen, "HTTP %ld%s%s%s%s%s%s", h->status, h->error_code[0] ? " " : "",
		     h->error_code, msg[0] ? " (" : "", msg, msg[0] ? ")" : "", attempts);
	if ((h->status == 401 || h->status == 403) && r->client && n > 0 && (size_t)n < outlen) {
		const char *src = r->client->cred.source;

		/* which credentials were refused, never the credentials */
		snprintf(out + n, outlen - (size_t)n, "; the service refused the %.*s",
			 (int)strcspn(src, ";"), src);
	}
}
