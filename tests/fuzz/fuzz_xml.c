/* fuzz_xml.c - the XML writer (src/util/xml.c): any bytes become text with
 * no markup character left bare. */
#include "fuzz.h"
#include "util/buf.h"
#include "util/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nd_buf b = ND_BUF_INIT;
	nd_xml_text(&b, (const char *)data, size);
	for (size_t i = 0; i < b.len; i++) {
		FUZZ_ASSERT(b.data[i] != '<' && b.data[i] != '>');
		FUZZ_ASSERT(b.data[i] != '\0');
		if (b.data[i] == '&')
			FUZZ_ASSERT(memchr(b.data + i, ';', b.len - i) != NULL);
	}
	nd_buf_release(&b);
	return 0;
}
