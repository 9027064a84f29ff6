#include "lib/aws_creds.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* Real shared files are a few KiB; anything this big is not one. */
#define MAX_FILE_SIZE (1 << 20)
#define MAX_PATH 4096

struct profile {
	char access_key[129];
	char secret_key[257];
	char session_token[8193];
	char region[65];
	char endpoint[1025];
	char ca_bundle[1025];
	/* file and line of each value, and of the section that held it */
	const char *akid_file, *secret_file, *region_file, *endpoint_file;
	int akid_line, secret_line;
	int found; /* a section for the profile exists in some file */
	/* the first setting that asks for a credential provider we do not implement */
	char unsupported[64];
	const char *unsupported_file;
	int unsupported_line;
};

struct resolver {
	const struct aws_creds_input *in;
	char *err;
	size_t errlen;
	char home[MAX_PATH];
	char cred_path[MAX_PATH];
	char conf_path[MAX_PATH];
	int cred_exists, conf_exists;
	struct profile prof;
	char profile_name[129];
	const char *profile_origin; /* "engine option", "AWS_PROFILE" or NULL (default) */
	int files_read;
};


static const char *env(struct resolver *r, const char *name)
{
	const char *v = r->in->getenv_fn ? r->in->getenv_fn(name, r->in->getenv_arg)
					 : getenv(name);

	return v && *v ? v : NULL;
}

static int given(const char *s)
{
	return s && *s;
}

/* Copies, failing (not truncating) when it does not fit: a cut secret signs wrongly. */
static int copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* "****MPLE": enough to tell two keys apart, as `aws configure list` shows them. */
static void mask_key(const char *akid, char *out, size_t outsz)
{
	size_t n = strlen(akid);

	snprintf(out, outsz, "****%s", n >= 12 ? akid + n - 4 : "");
}

static int expand_home(struct resolver *r, const char *path, char *out, size_t outsz)
{
	int n;

	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
		if (!r->home[0]) {
			errbuf_set(r->err, r->errlen, "cannot expand '%s': no home directory (HOME unset)",
				path);
			return -ENOENT;
		}
		n = snprintf(out, outsz, "%s%s", r->home, path + 1);
	} else {
		n = snprintf(out, outsz, "%s", path);
	}
	if (n < 0 || (size_t)n >= outsz) {
		errbuf_set(r->err, r->errlen, "path too long: %.64s...", path);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Reads a whole shared file. Returns 1 with *buf set, 0 if it does not exist, or -errno. */
static int slurp(struct resolver *r, const char *path, char **buf)
{
	struct stat st;
	char *b = NULL;
	size_t len = 0;
	int fd, ret;

	*buf = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		ret = -errno;
		errbuf_set(r->err, r->errlen, "cannot open %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE) {
		errbuf_set(r->err, r->errlen, "%s: not a regular file of at most %d bytes", path,
			MAX_FILE_SIZE);
		ret = -EINVAL;
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		errbuf_set(r->err, r->errlen, "out of memory reading %s", path);
		ret = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, b + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			errbuf_set(r->err, r->errlen, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	b[len] = '\0';
	*buf = b;
	b = NULL;
	ret = 1;
out:
	if (b) {
		OPENSSL_cleanse(b, len);
		free(b);
	}
	close(fd);
	return ret;
}

static char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

/* Is this section header (its inside, trimmed) the profile we want? */
static int section_matches(const char *name, int is_config, const char *profile)
{
	if (!is_config)
		return !strcmp(name, profile);
	if (!strcmp(name, "default"))
		return !strcmp(profile, "default");
	if (strncmp(name, "profile", 7) || (name[7] != ' ' && name[7] != '\t'))
		return 0;
	name += 7;
	while (*name == ' ' || *name == '\t')
		name++;
	return !strcmp(name, profile);
}

static int store(struct resolver *r, char *dst, size_t cap, const char *val, const char *key,
		 const char *path, int line)
{
	if (copy(dst, cap, val)) {
		/* never the value: it may be a secret */
		errbuf_set(r->err, r->errlen, "%s:%d: value of %s is longer than %zu bytes", path,
			line, key, cap - 1);
		return -EINVAL;
	}
	return 0;
}

static const char *const unsupported_keys[] = {
	"role_arn", "credential_process", "sso_session", "sso_start_url",
	"web_identity_token_file", "credential_source",
};

/*
 * Parses one shared file (INI as the AWS CLI reads it) and takes the wanted profile's
 * settings into r->prof, over what an earlier file set. Malformed lines are errors that
 * name file:line and never quote the line, which may hold a secret.
 */
static int parse_file(struct resolver *r, const char *path, char *text, int is_config)
{
	struct profile *p = &r->prof;
	int line = 0, in_section = 0, wanted = 0, nested = 0;
	char *next = text;
	int ret = 0;

	while (next && *next) {
		char *s = next, *end, *eq, *key, *val;

		end = strchr(s, '\n');
		next = end ? end + 1 : NULL;
		if (!end)
			end = s + strlen(s);
		line++;
		if (s[0] == ' ' || s[0] == '\t') {
			/* indented: a sub-setting ("s3 =\n  addressing_style = path") */
			s = trim(s, end);
			if (!*s || *s == '#' || *s == ';' || nested)
				continue;
		} else {
			s = trim(s, end);
			nested = 0;
		}
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			size_t n = strlen(s);

			if (s[n - 1] != ']') {
				errbuf_set(r->err, r->errlen, "%s:%d: section header without closing ']'",
					path, line);
				return -EINVAL;
			}
			s[n - 1] = '\0';
			s = trim(s + 1, s + n - 1);
			in_section = 1;
			wanted = section_matches(s, is_config, r->profile_name);
			if (wanted)
				p->found = 1;
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			errbuf_set(r->err, r->errlen, "%s:%d: expected 'key = value' or '[section]'",
				path, line);
			return -EINVAL;
		}
		if (!in_section) {
			errbuf_set(r->err, r->errlen, "%s:%d: setting outside any [section]", path,
				line);
			return -EINVAL;
		}
		key = trim(s, eq);
		val = trim(eq + 1, eq + 1 + strlen(eq + 1));
		if (!*key) {
			errbuf_set(r->err, r->errlen, "%s:%d: setting without a name", path, line);
			return -EINVAL;
		}
		for (char *c = key; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c + 32);
		if (!*val) {
			nested = 1;
			continue;
		}
		if (!wanted)
			continue;
		if (!strcmp(key, "aws_access_key_id")) {
			ret = store(r, p->access_key, sizeof(p->access_key), val, key, path, line);
			p->akid_file = path;
			p->akid_line = line;
		} else if (!strcmp(key, "aws_secret_access_key")) {
			ret = store(r, p->secret_key, sizeof(p->secret_key), val, key, path, line);
			p->secret_file = path;
			p->secret_line = line;
		} else if (!strcmp(key, "aws_session_token")) {
			ret = store(r, p->session_token, sizeof(p->session_token), val, key, path,
				    line);
		} else if (!strcmp(key, "region")) {
			ret = store(r, p->region, sizeof(p->region), val, key, path, line);
			p->region_file = path;
		} else if (!strcmp(key, "endpoint_url")) {
			ret = store(r, p->endpoint, sizeof(p->endpoint), val, key, path, line);
			p->endpoint_file = path;
		} else if (!strcmp(key, "ca_bundle")) {
			ret = store(r, p->ca_bundle, sizeof(p->ca_bundle), val, key, path, line);
		} else {
			for (size_t i = 0; i < sizeof(unsupported_keys) / sizeof(*unsupported_keys);
			     i++) {
				if (!strcmp(key, unsupported_keys[i]) && !p->unsupported[0]) {
					snprintf(p->unsupported, sizeof(p->unsupported), "%s", key);
					p->unsupported_file = path;
					p->unsupported_line = line;
				}
			}
		}
		if (ret)
			return ret;
	}
	return 0;
}

static int read_one(struct resolver *r, const char *path, int is_config, int *exists)
{
	char *text = NULL;
	int ret = slurp(r, path, &text);

	*exists = ret > 0;
	if (ret <= 0)
		return ret;
	ret = parse_file(r, path, text, is_config);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return ret;
}

/* The config file first, so that the credentials file's values win, as in the AWS CLI. */
static int read_files(struct resolver *r)
{
	const char *v;
	int ret;

	if (r->files_read)
		return 0;
	r->files_read = 1;
	v = env(r, "AWS_CONFIG_FILE");
	ret = expand_home(r, v ? v : "~/.aws/config", r->conf_path, sizeof(r->conf_path));
	if (!ret)
		ret = read_one(r, r->conf_path, 1, &r->conf_exists);
	if (ret)
		return ret;
	v = env(r, "AWS_SHARED_CREDENTIALS_FILE");
	ret = expand_home(r, v ? v : "~/.aws/credentials", r->cred_path, sizeof(r->cred_path));
	if (!ret)
		ret = read_one(r, r->cred_path, 0, &r->cred_exists);
	return ret;
}

static int files_needed_for_home(struct resolver *r)
{
	/* Without a home and without explicit file variables there are no shared files. */
	return r->home[0] || env(r, "AWS_CONFIG_FILE") || env(r, "AWS_SHARED_CREDENTIALS_FILE");
}

static int read_files_if_any(struct resolver *r)
{
	if (!files_needed_for_home(r)) {
		r->files_read = 1;
		return 0;
	}
	return read_files(r);
}

static void describe_files(struct resolver *r, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s%s and %s%s", r->cred_path[0] ? r->cred_path : "~/.aws/credentials",
		 r->cred_exists ? "" : " (absent)", r->conf_path[0] ? r->conf_path : "~/.aws/config",
		 r->conf_exists ? "" : " (absent)");
}

static int creds_from_profile(struct resolver *r, struct aws_creds *out)
{
	struct profile *p = &r->prof;
	char files[2 * MAX_PATH + 32], masked[16];
	int ret;

	ret = read_files_if_any(r);
	if (ret)
		return ret;
	describe_files(r, files, sizeof(files));
	if (!p->found) {
		if (!r->profile_origin)
			return -ENOENT; /* no default profile: the caller says what to do */
		errbuf_set(r->err, r->errlen, "profile '%s' (from %s) not found in %s",
			r->profile_name, r->profile_origin, files);
		return -ENOENT;
	}
	if (!p->access_key[0] && !p->secret_key[0]) {
		if (p->unsupported[0]) {
			errbuf_set(r->err, r->errlen,
				"%s:%d: profile '%s' uses %s, which fio-dlio does not resolve; give "
				"static keys instead (e.g. eval \"$(aws configure export-credentials "
				"--profile %s --format env)\")",
				p->unsupported_file, p->unsupported_line, r->profile_name,
				p->unsupported, r->profile_name);
			return -ENOTSUP;
		}
		if (!r->profile_origin)
			return -ENOENT;
		errbuf_set(r->err, r->errlen, "profile '%s' has no aws_access_key_id in %s",
			r->profile_name, files);
		return -ENOENT;
	}
	if (!p->access_key[0] || !p->secret_key[0]) {
		int has_key = p->access_key[0] != '\0';

		errbuf_set(r->err, r->errlen, "%s:%d: profile '%s' has %s but no %s",
			has_key ? p->akid_file : p->secret_file,
			has_key ? p->akid_line : p->secret_line, r->profile_name,
			has_key ? "aws_access_key_id" : "aws_secret_access_key",
			has_key ? "aws_secret_access_key" : "aws_access_key_id");
		return -EINVAL;
	}
	memcpy(out->access_key, p->access_key, sizeof(out->access_key));
	memcpy(out->secret_key, p->secret_key, sizeof(out->secret_key));
	memcpy(out->session_token, p->session_token, sizeof(out->session_token));
	snprintf(out->profile, sizeof(out->profile), "%s", r->profile_name);
	mask_key(out->access_key, masked, sizeof(masked));
	snprintf(out->source, sizeof(out->source), "shared %s file %s, profile '%s'%s (access key %s%s)",
		 p->akid_file == r->cred_path ? "credentials" : "config", p->akid_file,
		 r->profile_name, r->profile_origin ? "" : " (the default)", masked,
		 out->session_token[0] ? ", with session token" : "");
	return 0;
}

static int resolve_creds(struct resolver *r, struct aws_creds *out)
{
	const struct aws_creds_input *in = r->in;
	const char *ak, *sk, *tok;
	char masked[16];
	int ret;

	if (in->anonymous) {
		out->anonymous = 1;
		snprintf(out->source, sizeof(out->source), "anonymous (requests are not signed)");
		return 0;
	}
	if (given(in->access_key) || given(in->secret_key)) {
		if (!given(in->access_key) || !given(in->secret_key)) {
			errbuf_set(r->err, r->errlen, "the engine options give %s but not %s",
				given(in->access_key) ? "an access key" : "a secret key",
				given(in->access_key) ? "a secret key" : "an access key");
			return -EINVAL;
		}
		if (copy(out->access_key, sizeof(out->access_key), in->access_key) ||
		    copy(out->secret_key, sizeof(out->secret_key), in->secret_key) ||
		    copy(out->session_token, sizeof(out->session_token),
			 given(in->session_token) ? in->session_token : "")) {
			errbuf_set(r->err, r->errlen, "access key, secret key or session token option "
						   "too long");
			return -EINVAL;
		}
		mask_key(out->access_key, masked, sizeof(masked));
		snprintf(out->source, sizeof(out->source), "engine options (access key %s%s)",
			 masked, out->session_token[0] ? ", with session token" : "");
		return 0;
	}
	if (given(in->profile))
		return creds_from_profile(r, out);

	ak = env(r, "AWS_ACCESS_KEY_ID");
	sk = env(r, "AWS_SECRET_ACCESS_KEY");
	if (ak || sk) {
		if (!ak || !sk) {
			errbuf_set(r->err, r->errlen, "%s is set but %s is not",
				ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
				ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
			return -EINVAL;
		}
		tok = env(r, "AWS_SESSION_TOKEN");
		if (copy(out->access_key, sizeof(out->access_key), ak) ||
		    copy(out->secret_key, sizeof(out->secret_key), sk) ||
		    copy(out->session_token, sizeof(out->session_token), tok ? tok : "")) {
			errbuf_set(r->err, r->errlen, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or "
						   "AWS_SESSION_TOKEN too long");
			return -EINVAL;
		}
		mask_key(out->access_key, masked, sizeof(masked));
		snprintf(out->source, sizeof(out->source),
			 "environment AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY%s (access key %s)",
			 tok ? ", AWS_SESSION_TOKEN" : "", masked);
		return 0;
	}
	ret = creds_from_profile(r, out);
	if (ret == -ENOENT && !r->profile_origin) {
		char files[2 * MAX_PATH + 32];

		describe_files(r, files, sizeof(files));
		errbuf_set(r->err, r->errlen,
			"no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give "
			"the engine's access and secret key options, add a [default] profile to "
			"%s, or ask for anonymous access",
			files);
	}
	return ret;
}

static int valid_region(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

static int resolve_region(struct resolver *r, struct aws_creds *out)
{
	const char *v, *src;
	int ret;

	if (given(r->in->region)) {
		v = r->in->region;
		src = "engine option";
	} else if ((v = env(r, "AWS_REGION"))) {
		src = "AWS_REGION";
	} else if ((v = env(r, "AWS_DEFAULT_REGION"))) {
		src = "AWS_DEFAULT_REGION";
	} else {
		ret = read_files_if_any(r);
		if (ret)
			return ret;
		if (r->prof.region[0]) {
			v = r->prof.region;
			src = NULL;
			snprintf(out->region_source, sizeof(out->region_source),
				 "%s, profile '%s'", r->prof.region_file, r->profile_name);
		} else {
			v = AWS_CREDS_DEFAULT_REGION;
			src = "default";
		}
	}
	if (copy(out->region, sizeof(out->region), v) || !valid_region(v)) {
		errbuf_set(r->err, r->errlen, "invalid region '%.64s' (from %s)", v,
			src ? src : out->region_source);
		return -EINVAL;
	}
	if (src)
		snprintf(out->region_source, sizeof(out->region_source), "%s", src);
	return 0;
}

static int resolve_endpoint(struct resolver *r, struct aws_creds *out)
{
	const char *v, *src = NULL;
	size_t n;
	int ret;

	if (given(r->in->endpoint)) {
		v = r->in->endpoint;
		src = "engine option";
	} else if ((v = env(r, "AWS_ENDPOINT_URL_S3"))) {
		src = "AWS_ENDPOINT_URL_S3";
	} else if ((v = env(r, "AWS_ENDPOINT_URL"))) {
		src = "AWS_ENDPOINT_URL";
	} else {
		ret = read_files_if_any(r);
		if (ret)
			return ret;
		v = r->prof.endpoint[0] ? r->prof.endpoint : NULL;
		if (v)
			snprintf(out->endpoint_source, sizeof(out->endpoint_source),
				 "%s, profile '%s'", r->prof.endpoint_file, r->profile_name);
	}
	if (!v) {
		snprintf(out->endpoint, sizeof(out->endpoint), "https://s3.%s.amazonaws.com",
			 out->region);
		snprintf(out->endpoint_source, sizeof(out->endpoint_source),
			 "AWS for region %s", out->region);
		out->endpoint_custom = 0;
		return 0;
	}
	if (src)
		snprintf(out->endpoint_source, sizeof(out->endpoint_source), "%s", src);
	if ((strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) ||
	    copy(out->endpoint, sizeof(out->endpoint), v)) {
		errbuf_set(r->err, r->errlen,
			"endpoint '%.128s' (from %s) must be an http:// or https:// URL of at most "
			"%zu bytes",
			v, out->endpoint_source, sizeof(out->endpoint) - 1);
		return -EINVAL;
	}
	/* "http://host:port/" and "http://host:port" are the same endpoint */
	n = strlen(out->endpoint);
	while (n > 0 && out->endpoint[n - 1] == '/')
		out->endpoint[--n] = '\0';
	out->endpoint_custom = 1;
	return 0;
}

static int resolve_ca_bundle(struct resolver *r, struct aws_creds *out)
{
	const char *v;
	int ret;

	if (given(r->in->ca_bundle)) {
		v = r->in->ca_bundle;
	} else if (!(v = env(r, "AWS_CA_BUNDLE"))) {
		ret = read_files_if_any(r);
		if (ret)
			return ret;
		v = r->prof.ca_bundle;
	}
	if (copy(out->ca_bundle, sizeof(out->ca_bundle), v)) {
		errbuf_set(r->err, r->errlen, "CA bundle path too long");
		return -EINVAL;
	}
	return 0;
}

int aws_creds_resolve(const struct aws_creds_input *in, struct aws_creds *out, char *err,
		      size_t errlen)
{
	struct resolver *r;
	const char *home, *prof;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	/* big (a profile holds a session token): keep it off small thread stacks */
	r = calloc(1, sizeof(*r));
	if (!r) {
		errbuf_set(err, errlen, "out of memory");
		return ret;
	}
	r->in = in;
	r->err = err;
	r->errlen = errlen;
	home = given(in->home) ? in->home : env(r, "HOME");
	if (home && copy(r->home, sizeof(r->home), home)) {
		errbuf_set(err, errlen, "home directory path too long");
		ret = -ENAMETOOLONG;
		goto out;
	}
	if (given(in->profile)) {
		prof = in->profile;
		r->profile_origin = "engine option";
	} else if ((prof = env(r, "AWS_PROFILE"))) {
		r->profile_origin = "AWS_PROFILE";
	} else {
		prof = "default";
	}
	if (copy(r->profile_name, sizeof(r->profile_name), prof)) {
		errbuf_set(err, errlen, "profile name too long");
		ret = -EINVAL;
		goto out;
	}
	ret = resolve_creds(r, out);
	if (!ret)
		ret = resolve_region(r, out);
	if (!ret)
		ret = resolve_endpoint(r, out);
	if (!ret)
		ret = resolve_ca_bundle(r, out);
	if (!ret && !out->profile[0])
		snprintf(out->profile, sizeof(out->profile), "%s", r->profile_name);
out:
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
	if (ret)
		aws_creds_clear(out);
	return ret;
}

void aws_creds_clear(struct aws_creds *c)
{
	OPENSSL_cleanse(c->secret_key, sizeof(c->secret_key));
	OPENSSL_cleanse(c->session_token, sizeof(c->session_token));
	OPENSSL_cleanse(c->access_key, sizeof(c->access_key));
}
