/* fuzz.h - what the fuzz harnesses share: the libFuzzer entry point, and a
 * NUL-terminated copy of the input for the parsers that take C strings.
 *
 * Each fuzz_<name>.c is built twice: with replay.c into a test that runs
 * its corpus (tests/fuzz/corpus/<name>/) in make check, and by make fuzz
 * with clang's libFuzzer to search for new inputs. A property that does
 * not hold aborts, which both report. */
#ifndef ND_TESTS_FUZZ_H
#define ND_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* @data as a C string (cut at its first NUL), to be freed. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
