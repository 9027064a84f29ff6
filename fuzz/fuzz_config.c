/*
 * libFuzzer target: workload YAML + Hydra overrides -> config -> validate -> flow line ->
 * reload, which must read back as the same config. Input: YAML text, then optionally a line
 * "%%%" followed by one override per line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlio/config.h"
#include "dlio/emit.h"

#define MAX_OVR 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dlio_config a, b;
	static char flow[DLIO_FLOW_MAX + 1];
	char *buf = malloc(size + 1), *sep, *ovr[MAX_OVR], *line, *save = NULL, err[1024];
	struct dlio_load_opts o = {.flavour = DLIO_FLAVOUR_V20};
	size_t yl = size;
	int n;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	sep = strstr(buf, "\n%%%\n");
	if (sep) {
		yl = (size_t)(sep - buf);
		for (line = strtok_r(sep + 5, "\n", &save); line && o.noverrides < MAX_OVR;
		     line = strtok_r(NULL, "\n", &save))
			ovr[o.noverrides++] = line;
		o.overrides = (const char *const *)ovr;
	}
	if (size && data[0] & 1)
		o.flavour = DLIO_FLAVOUR_HEAD;
	if (dlio_config_load_buf(&a, "fuzz", buf, yl, &o, NULL, err, sizeof(err)))
		goto out;
	dlio_config_validate(&a, 1 + (int64_t)(size % 64), NULL, err, sizeof(err));
	n = dlio_config_emit_flow(&a, flow, sizeof(flow), err, sizeof(err));
	if (n < 0)
		goto out;
	o.noverrides = 0;
	if (dlio_config_load_buf(&b, "flow", flow, (size_t)n, &o, NULL, err, sizeof(err))) {
		fprintf(stderr, "flow line does not reload: %s\n%s\n", err, flow);
		abort();
	}
	dlio_config_validate(&b, 1 + (int64_t)(size % 64), NULL, err, sizeof(err));
	if (dlio_config_diff(&a, &b, err, sizeof(err))) {
		fprintf(stderr, "round trip differs at %s\n%s\n", err, flow);
		abort();
	}
out:
	free(buf);
	return 0;
}
