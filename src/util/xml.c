/* xml.c - rendering a JSON tree as XML. */
#include "util/xml.h"

#include <stdio.h>
#include <string.h>

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* The bytes XML text carries as they are: printable ASCII but the five
 * markup characters, and tab and line feed. */
static const unsigned char xml_plain[256] = {
	['\t'] = 1, ['\n'] = 1, [0x20 ... 0x21] = 1, [0x23 ... 0x25] = 1,
	[0x28 ... 0x3B] = 1, ['='] = 1, [0x3F ... 0x7F] = 1,
};

void nd_xml_text(struct nd_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	nd_buf_reserve(b, n);
	while (i < n) {
		/* The longest run that needs nothing, in one copy (a member
		 * LIST page in XML: ~12% of its time a byte at a time). */
		size_t run = i;
		while (run < n && xml_plain[s[run]])
			run++;
		if (run > i) {
			nd_buf_add(b, s + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = s[i];
		if (c >= 0x80) {
			size_t len = nd_utf8_seq(s + i, n - i);
			/* U+FFFE and U+FFFF are valid UTF-8 but not XML characters. */
			bool forbidden = len == 3 && c == 0xEF && s[i + 1] == 0xBF && s[i + 2] >= 0xBE;
			if (len && !forbidden)
				nd_buf_add(b, s + i, len);
			else
				nd_buf_puts(b, replacement);
			i += len ? len : 1;
			continue;
		}
		switch (c) {
		case '&': nd_buf_puts(b, "&amp;"); break;
		case '<': nd_buf_puts(b, "&lt;"); break;
		case '>': nd_buf_puts(b, "&gt;"); break;
		case '"': nd_buf_puts(b, "&quot;"); break;
		case '\'': nd_buf_puts(b, "&apos;"); break;
		/* A raw CR would reach the reader as LF (XML end-of-line
		 * handling); the reference keeps it. */
		case '\r': nd_buf_puts(b, "&#13;"); break;
		default: nd_buf_puts(b, replacement); /* another control character */
		}
		i++;
	}
}
