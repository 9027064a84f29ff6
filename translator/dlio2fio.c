/*
 * dlio2fio [options] WORKLOAD.yaml|workload=NAME [overrides...]
 *
 * Exit codes: 0 done; 2 bad usage or bad input (nothing written); 1 an output file could not
 * be written (nothing left behind).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobfile.h"

#define D2F_EXIT_INPUT 2
#define D2F_EXIT_IO 1

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dlio2fio [options] WORKLOAD.yaml [overrides...]\n"
		"       dlio2fio [options] workload=NAME --config-dir DIR [overrides...]\n"
		"\n"
		"Translate a DLIO workload into an fio job file for the fio-dlio engine.\n"
		"Overrides use Hydra's syntax: ++workload.a.b=v, +workload.a.b=v, workload.a.b=v,\n"
		"~workload.a.b.\n"
		"\n"
		"  -o FILE                 write the job file to FILE (default: stdout); with --hosts,\n"
		"                          a directory (DIR/HOST.fio) or a pattern with %%h for the host\n"
		"  --ranks N               DLIO's comm_size (default 1)\n"
		"  --hosts h1,h2,...       one job file per host, ranks split across them in order\n"
		"  --engine PATH           the engine in ioengine=external:PATH\n"
		"                          (default: the engine built or installed with this\n"
		"                          dlio2fio, else " D2F_DEFAULT_ENGINE ", expanded by fio)\n"
		"  --data-folder URI       dataset root: file:///dir, direct:///dir, s3://bucket/prefix,\n"
		"                          az://account/container/prefix (default: from the workload)\n"
		"  --checkpoint-folder URI checkpoint root (default: from the workload)\n"
		"  --output DIR            DLIO's output folder for summary.json (default: the\n"
		"                          workload's output.folder, else ./output)\n"
		"  --flavor v2.0|head      DLIO behaviour to reproduce (default v2.0)\n"
		"  --config-dir DIR        where workload=NAME is looked up (DIR/workload/NAME.yaml)\n"
		"  --scale-down            shrink the workload to a quick trial run (few small files,\n"
		"                          2 epochs, 1 ms compute, a tiny model; see the README);\n"
		"                          the overrides it adds are listed in the job file\n"
		"  --explain               print a summary (steps, bytes, quirks) instead of the job\n"
		"                          file; with -o, write the file and print the summary\n"
		"  -h, --help              this text\n");
}

static int split_hosts(char *list, char ***out, size_t *n)
{
	char **v = NULL, *tok, *save = NULL;
	size_t k = 0, i;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char **nv;

		if (k >= D2F_MAX_HOSTS || !*tok || strpbrk(tok, "/;#$ \t[]")) {
			fprintf(stderr, "dlio2fio: --hosts: bad or too many host names ('%s')\n",
				tok);
			free(v);
			return -EINVAL;
		}
		for (i = 0; i < k; i++)
			if (!strcmp(v[i], tok)) {
				fprintf(stderr, "dlio2fio: --hosts: %s given twice\n", tok);
				free(v);
				return -EINVAL;
			}
		nv = realloc(v, (k + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[k++] = tok;
	}
	if (!k) {
		fprintf(stderr, "dlio2fio: --hosts: no host names\n");
		return -EINVAL;
	}
	*out = v;
	*n = k;
	return 0;
}

/* The output path of host h: DIR/HOST.fio, or the pattern with %h replaced. */
static int host_path(const char *o, const char *host, char *buf, size_t len)
{
	const char *p = strstr(o, "%h");
	int n;

	if (p)
		n = snprintf(buf, len, "%.*s%s%s", (int)(p - o), o, host, p + 2);
	else
		n = snprintf(buf, len, "%s/%s.fio", o, host);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

struct pending {
	char path[PATH_MAX];
	char tmp[PATH_MAX + 16];
};

/* Written to a temporary name beside the target, renamed into place only when every file is
 * complete: an error leaves neither a half file nor a partial set. */
static int write_all(struct pending *p, const struct d2f_text *t, size_t n)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < n; i++)
		p[i].tmp[0] = '\0';
	for (i = 0; i < n && !ret; i++) {
		int fd;
		size_t off = 0;

		snprintf(p[i].tmp, sizeof(p[i].tmp), "%s.XXXXXX", p[i].path);
		fd = mkstemp(p[i].tmp);
		if (fd < 0) {
			ret = -errno;
			fprintf(stderr, "dlio2fio: %s: %s\n", p[i].path, strerror(errno));
			p[i].tmp[0] = '\0';
			break;
		}
		while (off < t[i].len) {
			ssize_t w = write(fd, t[i].buf + off, t[i].len - off);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				ret = -errno;
				break;
			}
			off += (size_t)w;
		}
		if (!ret && fchmod(fd, 0644))
			ret = -errno;
		if (close(fd) && !ret)
			ret = -errno;
		if (ret)
			fprintf(stderr, "dlio2fio: %s: %s\n", p[i].tmp, strerror(-ret));
	}
	for (i = 0; i < n && !ret; i++) {
		if (rename(p[i].tmp, p[i].path)) {
			ret = -errno;
			fprintf(stderr, "dlio2fio: %s: %s\n", p[i].path, strerror(errno));
			break;
		}
		p[i].tmp[0] = '\0';
	}
	for (i = 0; i < n; i++)
		if (p[i].tmp[0])
			unlink(p[i].tmp);
	return ret;
}

/* "dlio2fio --ranks 8 ... file.yaml ++x=y" for the comment block, with no absolute paths of
 * the machine that made it (so committed files do not change with the checkout's place). */
static void make_cmdline(char *buf, size_t len, int argc, char **argv)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < argc && off < len; i++) {
		const char *a = i ? argv[i] : "dlio2fio";
		int n;

		/* where this copy was written is not part of it */
		if (!strcmp(a, "-o")) {
			i++;
			continue;
		}
		if (!strncmp(a, "-o", 2))
			continue;
		n = snprintf(buf + off, len - off, "%s%s", i ? " " : "", a);

		if (n < 0 || (size_t)n >= len - off) {
			snprintf(buf + (off < len - 4 ? off : len - 4), 4, "...");
			return;
		}
		off += (size_t)n;
	}
}

/*
 * The engine that belongs to this dlio2fio: build/fio-dlio.so beside build/dlio2fio
 * in the source tree, $PREFIX/lib/fio-dlio/fio-dlio.so beside $PREFIX/bin/dlio2fio
 * once installed; NULL when neither is there (the job file then names
 * ${FIODLIO_ENGINE}).
 */
static const char *own_engine(char *buf, size_t len)
{
	static const char *const rel[] = { "fio-dlio.so", "../lib/fio-dlio/fio-dlio.so" };
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(cand, sizeof(cand), "%s/%s", exe, rel[i]);
		if (access(cand, R_OK) == 0 && realpath(cand, buf) && strlen(buf) < len &&
		    !strpbrk(buf, ";#\n"))
			return buf;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static char engine_path[PATH_MAX];
	enum {
		O_RANKS = 256,
		O_HOSTS,
		O_ENGINE,
		O_DATA,
		O_CKPT,
		O_OUTDIR,
		O_FLAVOR,
		O_CONFDIR,
		O_EXPLAIN,
		O_SCALE,
	};
	static const struct option lopts[] = {
		{"ranks", required_argument, NULL, O_RANKS},
		{"hosts", required_argument, NULL, O_HOSTS},
		{"engine", required_argument, NULL, O_ENGINE},
		{"data-folder", required_argument, NULL, O_DATA},
		{"checkpoint-folder", required_argument, NULL, O_CKPT},
		{"output", required_argument, NULL, O_OUTDIR},
		{"flavor", required_argument, NULL, O_FLAVOR},
		{"flavour", required_argument, NULL, O_FLAVOR},
		{"config-dir", required_argument, NULL, O_CONFDIR},
		{"explain", no_argument, NULL, O_EXPLAIN},
		{"scale-down", no_argument, NULL, O_SCALE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct d2f_opts o = {.ranks = 1, .flavour = DLIO_FLAVOUR_V20};
	struct d2f_result r = {0};
	struct pending *pend = NULL;
	const char *outpath = NULL, *confdir = NULL;
	char *hostlist = NULL, *end;
	char path[PATH_MAX], err[2048], cmdline[4096];
	struct timespec t0, t1;
	int opt, do_explain = 0, rc = D2F_EXIT_INPUT, ret;
	size_t i;

	while ((opt = getopt_long(argc, argv, "o:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			outpath = optarg;
			break;
		case O_RANKS:
			errno = 0;
			o.ranks = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || o.ranks <= 0 || o.ranks > D2F_MAX_RANKS) {
				fprintf(stderr, "dlio2fio: --ranks %s: expected 1..%d\n", optarg,
					D2F_MAX_RANKS);
				goto out;
			}
			break;
		case O_HOSTS:
			hostlist = optarg;
			break;
		case O_ENGINE:
			if (!*optarg || strpbrk(optarg, ";#\n")) {
				fprintf(stderr, "dlio2fio: --engine '%s': an fio job file cannot carry "
						"that path\n",
					optarg);
				goto out;
			}
			o.engine = optarg;
			break;
		case O_DATA:
			o.data_uri = optarg;
			break;
		case O_CKPT:
			o.ckpt_uri = optarg;
			break;
		case O_OUTDIR:
			o.output = optarg;
			break;
		case O_FLAVOR:
			if (!strcmp(optarg, "v2.0"))
				o.flavour = DLIO_FLAVOUR_V20;
			else if (!strcmp(optarg, "head"))
				o.flavour = DLIO_FLAVOUR_HEAD;
			else {
				fprintf(stderr, "dlio2fio: --flavor %s: expected v2.0 or head\n", optarg);
				goto out;
			}
			break;
		case O_CONFDIR:
			confdir = optarg;
			break;
		case O_EXPLAIN:
			do_explain = 1;
			break;
		case O_SCALE:
			o.scale_down = 1;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	/* getopt moved the options (which may follow the workload, as Hydra allows) to the
	 * front; overrides start with '+', '~' or a letter, never '-' */
	if (optind >= argc) {
		usage(stderr);
		goto out;
	}
	if (!strncmp(argv[optind], "workload=", 9)) {
		const char *name = argv[optind] + 9;

		if (!confdir) {
			fprintf(stderr, "dlio2fio: %s needs --config-dir DIR (DIR/workload/%s.yaml), "
					"e.g. --config-dir jobfiles\n",
				argv[optind], name);
			goto out;
		}
		if (!*name || strchr(name, '/') ||
		    snprintf(path, sizeof(path), "%s/workload/%s.yaml", confdir, name) >=
			    (int)sizeof(path)) {
			fprintf(stderr, "dlio2fio: %s: bad workload name\n", argv[optind]);
			goto out;
		}
		o.workload = path;
		o.source = argv[optind];
	} else {
		o.workload = argv[optind];
		o.source = argv[optind];
	}
	o.overrides = (const char *const *)argv + optind + 1;
	o.noverrides = (size_t)(argc - optind - 1);
	if (hostlist) {
		if (split_hosts(hostlist, &o.hosts, &o.nhosts))
			goto out;
		if (!outpath) {
			fprintf(stderr, "dlio2fio: --hosts writes one file per host: give -o DIR or "
					"-o PATTERN with %%h\n");
			goto out;
		}
	}
	make_cmdline(cmdline, sizeof(cmdline), argc, argv);
	o.explain = do_explain;
	o.cmdline = cmdline;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!o.engine)
		o.engine = own_engine(engine_path, sizeof(engine_path));
	ret = d2f_translate(&o, &r, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* for scripts/bench-translate: the translation alone, without process start-up */
	if (getenv("DLIO2FIO_TIMING"))
		fprintf(stderr, "dlio2fio: translated in %.0f us\n",
			(double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
	for (i = 0; i < r.diags.n; i++)
		if (r.diags.items[i].sev == DLIO_SEV_WARNING && !do_explain)
			fprintf(stderr, "dlio2fio: warning: %s\n", r.diags.items[i].msg);
	if (ret) {
		fprintf(stderr, "dlio2fio: %s\n", err);
		rc = ret == -ENOMEM ? D2F_EXIT_IO : D2F_EXIT_INPUT;
		goto out;
	}
	if (do_explain)
		fwrite(r.explain.buf, 1, r.explain.len, stdout);
	if (!outpath) {
		if (!do_explain && (fwrite(r.files[0].buf, 1, r.files[0].len, stdout) != r.files[0].len ||
				    fflush(stdout))) {
			fprintf(stderr, "dlio2fio: stdout: %s\n", strerror(errno));
			rc = D2F_EXIT_IO;
			goto out;
		}
		rc = 0;
		goto out;
	}
	pend = calloc(r.nfiles, sizeof(*pend));
	if (!pend) {
		rc = D2F_EXIT_IO;
		goto out;
	}
	for (i = 0; i < r.nfiles; i++) {
		int bad = o.hosts ? host_path(outpath, o.hosts[i], pend[i].path, sizeof(pend[i].path))
				  : snprintf(pend[i].path, sizeof(pend[i].path), "%s", outpath) >=
					    (int)sizeof(pend[i].path);

		if (bad) {
			fprintf(stderr, "dlio2fio: -o %s: path too long\n", outpath);
			goto out;
		}
	}
	rc = write_all(pend, r.files, r.nfiles) ? D2F_EXIT_IO : 0;
out:
	free(pend);
	free(o.hosts);
	d2f_result_free(&r);
	return rc;
}
