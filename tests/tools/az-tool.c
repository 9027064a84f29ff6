/* Helpers for the Azure integration tests, built on the engine's own modules:
 *
 *   az-tool sas <container> <permissions> <seconds>   a service SAS for the container, signed
 *                                                      by our own code (azure_auth.c)
 *   az-tool list <account/container/prefix>           the az:// backend's list(): one
 *                                                      "<size> <path>" line per blob
 *
 * Credentials come from the environment as the engine takes them (AZURE_STORAGE_*); sas needs
 * a shared key. Exit 0 on success, 1 with a message otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/az_conf.h"
#include "lib/azure_auth.h"
#include "lib/storage.h"

extern const struct storage_backend storage_az_backend;

static int print_one(void *arg, const char *path, uint64_t size)
{
	(*(unsigned long *)arg)++;
	printf("%llu %s\n", (unsigned long long)size, path);
	return 0;
}

static int cmd_list(const char *path)
{
	struct storage_conf conf = { .depth = 1, .retries = 2, .io_timeout_s = 30 };
	char err[STORAGE_ERR_LEN] = "";
	unsigned long n = 0;
	int ret = storage_az_backend.list(&conf, path, print_one, &n, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "az-tool list: %s\n", err);
		return 1;
	}
	fprintf(stderr, "az-tool list: %lu blobs\n", n);
	return 0;
}

static int cmd_sas(const char *container, const char *perms, int seconds)
{
	struct az_cred cred;
	struct azure_sas_service p = { .permissions = perms, .container = container };
	char expiry[32], token[AZ_SAS_MAX], err[256];
	time_t t = time(NULL) + seconds;
	struct tm tm;

	if (az_conf_resolve_credentials(NULL, AZ_DEV_ACCOUNT, az_conf_process_env, NULL, &cred,
					err, sizeof(err))) {
		fprintf(stderr, "az-tool sas: %s\n", err);
		return 1;
	}
	if (cred.kind != AZ_CRED_SHARED_KEY) {
		fprintf(stderr, "az-tool sas: needs a shared key (%s)\n", cred.source);
		return 1;
	}
	gmtime_r(&t, &tm);
	strftime(expiry, sizeof(expiry), "%Y-%m-%dT%H:%M:%SZ", &tm);
	p.expiry = expiry;
	if (azure_auth_sas_service(cred.account, &cred.key, &p, token, sizeof(token), err,
				   sizeof(err)) < 0) {
		fprintf(stderr, "az-tool sas: %s\n", err);
		az_conf_cred_clear(&cred);
		return 1;
	}
	printf("%s\n", token);
	az_conf_cred_clear(&cred);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "list"))
		return cmd_list(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "sas"))
		return cmd_sas(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: az-tool sas <container> <permissions> <seconds> | "
			"az-tool list <account/container/prefix>\n");
	return 2;
}
