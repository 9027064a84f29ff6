#include "http.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

struct http_loop {
	CURLM *multi;
	struct http_conf conf;
	struct http_stats stats;
	struct http_req *waiting; /* backing off, sorted by retry_at_ns */
	struct http_req *running; /* in the multi handle */
	unsigned int active;	  /* in the multi handle */
	unsigned int nwaiting;
	uint64_t rng;
	int epfd;	      /* the sockets libcurl asks to watch */
	uint64_t timer_at_ns; /* when libcurl wants its timeouts run; NO_TIMER: never */
	struct watch *watch;  /* by socket */
	size_t nwatch;
	/* the proxy environment, read once (proxy_setup): "" for none */
	char *proxy_http, *proxy_https, *noproxy;
};

/* What the epoll set holds for one socket, and whether libcurl still wants it. */
struct watch {
	uint32_t events;
	bool registered;
	bool wanted;
};

#define NO_TIMER UINT64_MAX

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * libcurl's event interface: it says which sockets to watch (here, in an epoll set) and
 * when to run its timeouts, and curl_multi_socket_action() then runs only the transfer
 * whose socket is ready.  curl_multi_perform() would instead look at every transfer, with
 * one poll() each, on every call: several per request at 4 KiB.
 */
static struct watch *watch_of(struct http_loop *loop, curl_socket_t s)
{
	if (s < 0)
		return NULL;
	if ((size_t)s >= loop->nwatch) {
		size_t n = loop->nwatch ? loop->nwatch : 64;
		struct watch *w;

		while (n <= (size_t)s)
			n *= 2;
		w = realloc(loop->watch, n * sizeof(*w));
		if (!w)
			return NULL;
		memset(w + loop->nwatch, 0, (n - loop->nwatch) * sizeof(*w));
		loop->watch = w;
		loop->nwatch = n;
	}
	return &loop->watch[s];
}

/*
 * libcurl drops a connection's socket when its transfer ends and asks for it again when the
 * next request reuses the connection: it stays in the epoll set meanwhile (no epoll_ctl per
 * request), an event on it while unwanted takes it out (http_run), and closing it
 * (on_close) forgets it, so that a new socket with the same number starts afresh.
 */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_loop *loop = userp;
	struct watch *w = watch_of(loop, s);
	struct epoll_event ev = { 0 };
	int op;

	(void)easy;
	(void)socketp;
	if (!w)
		return -1;
	if (what == CURL_POLL_REMOVE) {
		w->wanted = false;
		return 0;
	}
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
	ev.data.fd = s;
	w->wanted = true;
	if (w->registered && w->events == ev.events)
		return 0;
	op = w->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(loop->epfd, op, s, &ev)) {
		op = errno == ENOENT ? EPOLL_CTL_ADD : errno == EEXIST ? EPOLL_CTL_MOD : -1;
		if (op < 0 || epoll_ctl(loop->epfd, op, s, &ev)) {
			w->registered = false;
			return -1;
		}
	}
	w->registered = true;
	w->events = ev.events;
	return 0;
}

static int on_close(void *arg, curl_socket_t s)
{
	struct http_loop *loop = arg;

	if (s >= 0 && (size_t)s < loop->nwatch) {
		if (loop->watch[s].registered)
			epoll_ctl(loop->epfd, EPOLL_CTL_DEL, s, NULL);
		memset(&loop->watch[s], 0, sizeof(loop->watch[s]));
	}
	return close(s);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_loop *loop = userp;

	(void)multi;
	/* 0 (now) is the usual answer, after each new transfer: no clock needed */
	loop->timer_at_ns = timeout_ms < 0  ? NO_TIMER :
			    timeout_ms == 0 ? 0 :
					      now_ns() + (uint64_t)timeout_ms * 1000000ull;
	return 0;
}

/* The first of the variables that is set and not empty (libcurl ignores empty ones). */
static const char *env_first(const char *const *names)
{
	for (; *names; names++) {
		const char *v = getenv(*names);

		if (v && v[0])
			return v;
	}
	return "";
}

/*
 * libcurl reads the proxy variables for every transfer, five getenv() calls and copies at
 * 4 KiB GETs.  They are read once here, as libcurl would read them, and given to every
 * handle as CURLOPT_PROXY and CURLOPT_NOPROXY (an empty string: no proxy, nothing
 * excluded), which libcurl then uses instead of the environment, with the same effect:
 * for http:// URLs http_proxy (lowercase only), else all_proxy or ALL_PROXY; for https://
 * URLs https_proxy or HTTPS_PROXY, else all_proxy or ALL_PROXY; hosts matching no_proxy
 * or NO_PROXY go direct.  A later change to the environment does not reach a running job.
 */
static int proxy_setup(struct http_loop *loop)
{
	static const char *const http[] = { "http_proxy", "all_proxy", "ALL_PROXY", NULL };
	static const char *const https[] = { "https_proxy", "HTTPS_PROXY", "all_proxy",
					     "ALL_PROXY", NULL };
	static const char *const no[] = { "no_proxy", "NO_PROXY", NULL };

	loop->proxy_http = strdup(env_first(http));
	loop->proxy_https = strdup(env_first(https));
	loop->noproxy = strdup(env_first(no));
	return loop->proxy_http && loop->proxy_https && loop->noproxy ? 0 : -ENOMEM;
}

static void proxy_free(struct http_loop *loop)
{
	free(loop->proxy_http);
	free(loop->proxy_https);
	free(loop->noproxy);
}

int http_loop_new(const struct http_conf *conf, struct http_loop **out, char *err, size_t errlen)
{
	struct http_loop *loop;

	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK) {
		snprintf(err, errlen, "libcurl initialisation failed: %s",
			 curl_easy_strerror(curl_init_result));
		return -EIO;
	}
	loop = calloc(1, sizeof(*loop));
	if (!loop) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	loop->conf = *conf;
	if (!loop->conf.connect_timeout_ms)
		loop->conf.connect_timeout_ms = 10000;
	if (!loop->conf.low_speed_time_s)
		loop->conf.low_speed_time_s = 30;
	if (!loop->conf.backoff_ms)
		loop->conf.backoff_ms = 100;
	if (!loop->conf.backoff_max_ms)
		loop->conf.backoff_max_ms = 10000;
	if (!loop->conf.max_conns)
		loop->conf.max_conns = 16;
	if (proxy_setup(loop)) {
		proxy_free(loop);
		free(loop);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	loop->multi = curl_multi_init();
	if (!loop->multi) {
		proxy_free(loop);
		free(loop);
		snprintf(err, errlen, "curl_multi_init failed");
		return -ENOMEM;
	}
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int e = errno;

		curl_multi_cleanup(loop->multi);
		proxy_free(loop);
		free(loop);
		snprintf(err, errlen, "epoll_create1: %s", strerror(e));
		return -e;
	}
	loop->timer_at_ns = NO_TIMER;
	curl_multi_setopt(loop->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(loop->multi, CURLMOPT_SOCKETDATA, loop);
	curl_multi_setopt(loop->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(loop->multi, CURLMOPT_TIMERDATA, loop);
	curl_multi_setopt(loop->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)loop->conf.max_conns);
	curl_multi_setopt(loop->multi, CURLMOPT_MAXCONNECTS, (long)loop->conf.max_conns + 4);
	if (getrandom(&loop->rng, sizeof(loop->rng), 0) != sizeof(loop->rng))
		loop->rng = now_ns();
	loop->rng |= 1;
	*out = loop;
	return 0;
}

void http_req_release(struct http_req *req)
{
	if (req->easy)
		curl_easy_cleanup(req->easy);
	req->easy = NULL;
	req->easy_loop = NULL;
	req->easy_proxy = NULL;
	curl_url_cleanup(req->easy_url);
	req->easy_url = NULL;
	free(req->easy_url_str);
	req->easy_url_str = NULL;
	if (!req->own_buffers) {
		free(req->url);
		curl_slist_free_all(req->headers);
	}
	req->url = NULL;
	req->headers = NULL;
}

void http_loop_free(struct http_loop *loop)
{
	if (!loop)
		return;
	/* Detach what is still running so the multi handle can go. */
	while (loop->running) {
		struct http_req *req = loop->running;

		curl_multi_remove_handle(loop->multi, req->easy);
		loop->running = req->next_active;
		req->active = false;
		req->next_active = req->prev_active = NULL;
	}
	curl_multi_cleanup(loop->multi);
	close(loop->epfd);
	free(loop->watch);
	proxy_free(loop);
	free(loop);
}

const struct http_stats *http_loop_stats(const struct http_loop *loop)
{
	return &loop->stats;
}

unsigned int http_pending(const struct http_loop *loop)
{
	return loop->active + loop->nwaiting;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_req *req = arg;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	req->body_bytes += n;
	if (status >= 300 || !req->download) {
		size_t room = sizeof(req->errbody) - 1 - req->errbody_len;
		size_t take = n < room ? n : room;

		memcpy(req->errbody + req->errbody_len, data, take);
		req->errbody_len += take;
		req->errbody[req->errbody_len] = '\0';
		return n;
	}
	if (n > req->download_cap - req->received) {
		/* More than the request asked for: keep what fits, fail the transfer. */
		req->overflow = true;
		return 0;
	}
	memcpy((char *)req->download + req->received, data, n);
	req->received += n;
	return n;
}

static size_t on_upload(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct http_req *req = arg;
	size_t room = size * nmemb, left = req->upload_len - req->upload_pos;
	size_t n = left < room ? left : room;

	memcpy(buf, (const char *)req->upload + req->upload_pos, n);
	req->upload_pos += n;
	return n;
}

/* libcurl rewinds an upload when it must resend it (a redirect or a
 * reconnect after the server closed a reused connection). */
static int on_seek(void *arg, curl_off_t offset, int origin)
{
	struct http_req *req = arg;

	if (origin != SEEK_SET || offset < 0 || (size_t)offset > req->upload_len)
		return CURL_SEEKFUNC_FAIL;
	req->upload_pos = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static void copy_header_value(char *dst, size_t dstlen, const char *v, size_t len)
{
	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
		      size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || line[n] != ':' || strncasecmp(line, name, n))
		return false;
	*value = line + n + 1;
	*vlen = len - n - 1;
	return true;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct http_req *req = arg;
	size_t len = size * nmemb, vlen;
	const char *v;
	char tmp[128];

	if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
		/* a new response (after 100 Continue or a redirect) */
		req->etag[0] = req->error_code[0] = '\0';
		req->content_length = -1;
		req->range_total = 0;
	} else if (header_is(line, len, "etag", &v, &vlen)) {
		copy_header_value(req->etag, sizeof(req->etag), v, vlen);
	} else if (header_is(line, len, "x-ms-error-code", &v, &vlen)) {
		copy_header_value(req->error_code, sizeof(req->error_code), v, vlen);
	} else if (header_is(line, len, "content-length", &v, &vlen)) {
		copy_header_value(tmp, sizeof(tmp), v, vlen);
		req->content_length = strtoll(tmp, NULL, 10);
	} else if (header_is(line, len, "content-range", &v, &vlen)) {
		const char *slash;

		copy_header_value(tmp, sizeof(tmp), v, vlen);
		slash = strrchr(tmp, '/');
		if (slash && slash[1] != '*')
			req->range_total = strtoull(slash + 1, NULL, 10);
	}
	return len;
}

static int setup_easy(struct http_loop *loop, struct http_req *req)
{
	const struct http_conf *c = &loop->conf;
	bool upload = !strcmp(req->method, "PUT") || !strcmp(req->method, "POST");
	const char *proxy;
	CURL *e;

	if (!req->easy) {
		req->easy = curl_easy_init();
		if (!req->easy)
			return -ENOMEM;
	}
	e = req->easy;
	if (req->easy_loop != loop) {
		/* what is the same for every request of this handle: set once */
		curl_easy_setopt(e, CURLOPT_PRIVATE, req);
		curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close);
		curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, loop);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->low_speed_time_s);
		curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->curl_err);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload);
		curl_easy_setopt(e, CURLOPT_READDATA, req);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, req);
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 512L * 1024);
		curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
		curl_easy_setopt(e, CURLOPT_VERBOSE, c->verbose ? 1L : 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
		if (c->ca_file)
			curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
		/* object keys are not paths: "a/../b" and "./x" must reach the server as signed */
		curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
		curl_easy_setopt(e, CURLOPT_NOPROXY, loop->noproxy);
		req->easy_proxy = NULL;
		req->easy_loop = loop;
	}
	/*
	 * The URL as a parsed CURLU handle, parsed again only when it changes (successive GETs of
	 * one object have the same URL): with CURLOPT_URL, libcurl parses the string on every
	 * transfer.  The flags are those libcurl parses CURLOPT_URL with, PATH_AS_IS included.
	 */
	if (!req->easy_url) {
		req->easy_url = curl_url();
		if (!req->easy_url)
			return -ENOMEM;
		free(req->easy_url_str);
		req->easy_url_str = NULL;
	}
	if (!req->easy_url_str || strcmp(req->easy_url_str, req->url)) {
		CURLUcode uc;

		free(req->easy_url_str);
		req->easy_url_str = NULL;
		uc = curl_url_set(req->easy_url, CURLUPART_URL, req->url,
				  CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS);
		if (uc != CURLUE_OK) {
			snprintf(req->curl_err, sizeof(req->curl_err), "URL rejected: %s",
				 curl_url_strerror(uc));
			return -EINVAL;
		}
		req->easy_url_str = strdup(req->url);
		if (!req->easy_url_str)
			return -ENOMEM;
	}
	curl_easy_setopt(e, CURLOPT_CURLU, req->easy_url);
	proxy = strncasecmp(req->url, "https:", 6) ? loop->proxy_http : loop->proxy_https;
	if (req->easy_proxy != proxy) {
		curl_easy_setopt(e, CURLOPT_PROXY, proxy);
		req->easy_proxy = proxy;
	}
	/* the rest on every attempt: the handle is reused across methods */
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
	curl_easy_setopt(e, CURLOPT_NOBODY, !strcmp(req->method, "HEAD") ? 1L : 0L);
	if (upload) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->upload_len);
	} else {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 0L);
		if (strcmp(req->method, "HEAD"))
			curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	/* after HTTPGET/UPLOAD, which reset the method */
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
			 !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD") ||
					 !strcmp(req->method, "PUT") ?
				 NULL :
				 req->method);
	return 0;
}

static int start(struct http_loop *loop, struct http_req *req)
{
	CURLMcode mc;
	int ret;

	if (!req->own_buffers) {
		free(req->url);
		req->url = NULL;
		curl_slist_free_all(req->headers);
		req->headers = NULL;
	}
	req->status = 0;
	req->received = 0;
	req->body_bytes = 0;
	req->content_length = -1;
	req->range_total = 0;
	req->etag[0] = req->error_code[0] = req->errbody[0] = req->curl_err[0] = '\0';
	req->errbody_len = 0;
	req->curl_code = CURLE_OK;
	req->overflow = false;
	req->finished = false;
	req->upload_pos = 0;

	ret = req->prepare(req);
	if (ret)
		return ret;
	if (req->upload && !req->own_buffers) {
		/* no 100-continue round trip before each body */
		struct curl_slist *h = curl_slist_append(req->headers, "Expect:");

		if (!h)
			return -ENOMEM;
		req->headers = h;
	}
	ret = setup_easy(loop, req);
	if (ret)
		return ret;
	mc = curl_multi_add_handle(loop->multi, req->easy);
	if (mc != CURLM_OK) {
		snprintf(req->curl_err, sizeof(req->curl_err), "curl_multi_add_handle: %s",
			 curl_multi_strerror(mc));
		return -EIO;
	}
	req->attempts++;
	req->active = true;
	req->prev_active = NULL;
	req->next_active = loop->running;
	if (loop->running)
		loop->running->prev_active = req;
	loop->running = req;
	loop->active++;
	loop->stats.requests++;
	return 0;
}

int http_submit(struct http_loop *loop, struct http_req *req)
{
	req->attempts = 0;
	return start(loop, req);
}

bool http_retryable(const struct http_req *req)
{
	switch (req->curl_code) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_COULDNT_RESOLVE_HOST:
		return true;
	default:
		return false;
	}
	return req->status >= 500 || req->status == 429 || req->status == 408;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Exponential backoff with "equal jitter": half the step, plus up to half at random. */
static uint64_t backoff_ns(struct http_loop *loop, unsigned int attempt)
{
	uint64_t ms = loop->conf.backoff_ms;

	for (unsigned int i = 1; i < attempt && ms < loop->conf.backoff_max_ms; i++)
		ms *= 2;
	if (ms > loop->conf.backoff_max_ms)
		ms = loop->conf.backoff_max_ms;
	ms = ms / 2 + xorshift(&loop->rng) % (ms / 2 + 1);
	return ms * 1000000ull;
}

static void wait_insert(struct http_loop *loop, struct http_req *req)
{
	struct http_req **p = &loop->waiting;

	while (*p && (*p)->retry_at_ns <= req->retry_at_ns)
		p = &(*p)->next_wait;
	req->next_wait = *p;
	*p = req;
	loop->nwaiting++;
}

static void finish(struct http_loop *loop, struct http_req *req, int *ndone)
{
	if (req->curl_code != CURLE_OK || req->status >= 300)
		loop->stats.failures++;
	req->finished = true;
	(*ndone)++;
	req->done(req);
}

/* A request whose restart failed (prepare or curl) ends with that error. */
static void restart_or_fail(struct http_loop *loop, struct http_req *req, int *ndone)
{
	int ret = start(loop, req);

	if (ret) {
		req->curl_code = CURLE_SEND_ERROR;
		if (!req->curl_err[0])
			snprintf(req->curl_err, sizeof(req->curl_err), "could not retry: %s",
				 strerror(-ret));
		finish(loop, req, ndone);
	}
}

static void collect(struct http_loop *loop, int *ndone)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(loop->multi, &left))) {
		struct http_req *req = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		req->curl_code = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &req->status);
		curl_multi_remove_handle(loop->multi, msg->easy_handle);
		req->active = false;
		if (req->prev_active)
			req->prev_active->next_active = req->next_active;
		else
			loop->running = req->next_active;
		if (req->next_active)
			req->next_active->prev_active = req->prev_active;
		req->next_active = req->prev_active = NULL;
		loop->active--;
		if (req->overflow) {
			req->curl_code = CURLE_WRITE_ERROR;
			snprintf(req->curl_err, sizeof(req->curl_err),
				 "response body larger than the %zu bytes asked for",
				 req->download_cap);
		} else if (req->curl_code != CURLE_OK && !req->curl_err[0]) {
			snprintf(req->curl_err, sizeof(req->curl_err), "%s",
				 curl_easy_strerror(req->curl_code));
		}

		if (http_retryable(req) && req->attempts <= loop->conf.max_retries) {
			loop->stats.retries++;
			if (req->curl_code != CURLE_OK)
				loop->stats.retry_net++;
			else
				loop->stats.retry_5xx++;
			req->retry_at_ns = now_ns() + backoff_ns(loop, req->attempts);
			wait_insert(loop, req);
			continue;
		}
		finish(loop, req, ndone);
	}
}

static void restart_due(struct http_loop *loop, int *ndone)
{
	uint64_t now;

	if (!loop->waiting)
		return;
	now = now_ns();
	while (loop->waiting && loop->waiting->retry_at_ns <= now) {
		struct http_req *req = loop->waiting;

		loop->waiting = req->next_wait;
		loop->nwaiting--;
		restart_or_fail(loop, req, ndone);
	}
}

/* libcurl's timeouts, when due: they also start what was just added. */
static int run_timer(struct http_loop *loop, int *ndone)
{
	int running;

	if (loop->timer_at_ns == NO_TIMER || (loop->timer_at_ns && loop->timer_at_ns > now_ns()))
		return 0;
	loop->timer_at_ns = NO_TIMER;
	if (curl_multi_socket_action(loop->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
		return -EIO;
	collect(loop, ndone);
	return 0;
}

/* milliseconds until t, rounded up (a wait rounded down would spin until t) */
static int ms_until(uint64_t t, uint64_t now)
{
	uint64_t ms = t > now ? (t - now + 999999) / 1000000 : 0;

	return ms > 1000 ? 1000 : (int)ms;
}

int http_run(struct http_loop *loop, const struct timespec *timeout)
{
	uint64_t deadline = 0;
	int ndone = 0;

	if (timeout)
		deadline = now_ns() + (uint64_t)timeout->tv_sec * 1000000000ull +
			   (uint64_t)timeout->tv_nsec;
	for (;;) {
		struct epoll_event ev[32];
		uint64_t now;
		int wait_ms = 1000, n;

		restart_due(loop, &ndone);
		if (run_timer(loop, &ndone))
			return -EIO;
		if (ndone || (!loop->active && !loop->nwaiting))
			return ndone;

		now = now_ns();
		if (timeout) {
			if (now >= deadline)
				return 0;
			if (ms_until(deadline, now) < wait_ms)
				wait_ms = ms_until(deadline, now);
		}
		if (loop->waiting && ms_until(loop->waiting->retry_at_ns, now) < wait_ms)
			wait_ms = ms_until(loop->waiting->retry_at_ns, now);
		if (loop->timer_at_ns != NO_TIMER && ms_until(loop->timer_at_ns, now) < wait_ms)
			wait_ms = ms_until(loop->timer_at_ns, now);
		if (!loop->active) {
			struct timespec ts = { wait_ms / 1000, (long)(wait_ms % 1000) * 1000000 };

			if (wait_ms > 0)
				nanosleep(&ts, NULL);
			continue;
		}
		n = epoll_wait(loop->epfd, ev, (int)(sizeof(ev) / sizeof(ev[0])), wait_ms);
		if (n < 0 && errno != EINTR)
			return -EIO;
		for (int i = 0; i < n; i++) {
			uint32_t e = ev[i].events;
			int fd = ev[i].data.fd, mask = 0, running;
			struct watch *w = watch_of(loop, fd);

			if (w && !w->wanted) {
				/* an idle connection closed by the server: libcurl finds out on reuse */
				epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
				w->registered = false;
				continue;
			}

			/* an error or a hang-up is for the transfer to find out when it reads */
			if (e & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
				mask |= CURL_CSELECT_IN;
			if (e & (EPOLLOUT | EPOLLERR))
				mask |= CURL_CSELECT_OUT;
			if (curl_multi_socket_action(loop->multi, fd, mask, &running) !=
			    CURLM_OK)
				return -EIO;
		}
		collect(loop, &ndone);
	}
}

static void perform_done(struct http_req *req)
{
	(void)req;
}

int http_perform(struct http_loop *loop, struct http_req *req)
{
	http_done_fn user_done = req->done;
	int ret;

	req->done = perform_done;
	ret = http_submit(loop, req);
	while (!ret && !req->finished) {
		ret = http_run(loop, NULL);
		if (ret > 0)
			ret = 0;
	}
	req->done = user_done;
	return ret;
}
