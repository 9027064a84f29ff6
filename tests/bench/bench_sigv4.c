/*
 * Cost of one S3 request signature with a warm signing-key cache: the figure the engine pays
 * per I/O. Not a test: it prints numbers and checks nothing but errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/sigv4.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double run(struct s3_sigv4_signer *s, const struct s3_sigv4_request *r, long iters,
		  time_t t0)
{
	struct s3_sigv4_result res;
	char err[256];
	double start = now_ns();

	for (long i = 0; i < iters; i++) {
		/* a new second every 1000 requests, as a busy job sees */
		if (s3_sigv4_sign(s, r, t0 + i / 1000, &res, err, sizeof(err))) {
			fprintf(stderr, "bench-sigv4: %s\n", err);
			exit(1);
		}
	}
	return (now_ns() - start) / iters;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 200000;
	const struct s3_sigv4_header get_h[] = { { "Host", "127.0.0.1:7480" },
						 { "Range", "bytes=1048576-1114111" } };
	const struct s3_sigv4_header put_h[] = { { "Host", "127.0.0.1:7480" },
						 { "Content-Length", "8388608" } };
	const struct s3_sigv4_param put_q[] = {
		{ "partNumber", "17" },
		{ "uploadId", "2~kQ1b7Vq0m3HcY7wIuq0QXk7nS3pYfL9dKp2" },
	};
	struct s3_sigv4_request get = { .method = "GET",
					.path = "/dlio-bench/train/img_0123_of_8192.npz",
					.headers = get_h,
					.nheaders = 2 };
	struct s3_sigv4_request put = { .method = "PUT",
					.path = "/dlio-bench/checkpoint/layer-07 model+opt.pt",
					.query = put_q,
					.nquery = 2,
					.headers = put_h,
					.nheaders = 2 };
	struct s3_sigv4_signer *s;
	char err[256];
	time_t t0 = 1700000000;
	double cold_start, cold, g, p;

	if (iters < 1000)
		iters = 1000;
	if (s3_sigv4_signer_new(&s, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
				NULL, "us-east-1", "s3", err, sizeof(err))) {
		fprintf(stderr, "bench-sigv4: %s\n", err);
		return 1;
	}
	cold_start = now_ns();
	run(s, &get, 1, t0); /* derives the key */
	cold = now_ns() - cold_start;
	run(s, &get, iters / 10, t0); /* warm-up */
	g = run(s, &get, iters, t0);
	p = run(s, &put, iters, t0);
	printf("sigv4 GET+Range, UNSIGNED-PAYLOAD:   %7.0f ns/signature (%ld signatures)\n", g,
	       iters);
	printf("sigv4 PUT part (partNumber,uploadId): %7.0f ns/signature (%ld signatures)\n", p,
	       iters);
	printf("sigv4 first signature of a day (key derivation included): %.0f ns\n", cold);
	s3_sigv4_signer_free(s);
	return 0;
}
