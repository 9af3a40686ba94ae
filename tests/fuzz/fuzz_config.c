/* fuzz_config.c - the config file parser (src/core/config.c): any file is
 * loaded or refused with the setting at fault named, and never leaves the
 * settings half-freed. */
#include "fuzz.h"
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-config", 0);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct nd_config c;
	nd_config_init(&c);
	struct nd_error err = {0};
	if (nd_config_load_file(&c, path, &err) != ND_OK)
		FUZZ_ASSERT(err.detail[0] != '\0'); /* the field may be a setting named "" */
	else
		FUZZ_ASSERT(c.listen && c.db && !memchr(data, '\0', size));
	nd_config_release(&c);
	close(fd);
	return 0;
}
