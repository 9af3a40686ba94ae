/* xml.c - rendering a JSON tree as XML. */
#include "util/xml.h"

#include <stdio.h>
#include <string.h>

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

void nd_xml_text(struct nd_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
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
		case '\t':
		case '\n': nd_buf_putc(b, (char)c); break;
		default:
			if (c < 0x20)
				nd_buf_puts(b, replacement);
			else
				nd_buf_putc(b, (char)c);
		}
		i++;
	}
}

/* Element names come from the faces' own keys; anything outside
 * [A-Za-z0-9_.-] (or a leading digit) is replaced so the name stays legal. */
static void name(struct nd_buf *b, const char *key)
{
	if (!*key || (*key >= '0' && *key <= '9') || *key == '-' || *key == '.')
		nd_buf_putc(b, '_');
	for (const char *p = key; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
		nd_buf_putc(b, ok ? c : '_');
	}
}

static void element(struct nd_buf *b, const char *key, const json_t *v);

static void members(struct nd_buf *b, const json_t *obj)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
		element(b, key, v);
}

static void element(struct nd_buf *b, const char *key, const json_t *v)
{
	if (json_is_array(v)) {
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item)
			element(b, key, item);
		return;
	}
	nd_buf_putc(b, '<');
	name(b, key);
	if (json_is_null(v)) {
		nd_buf_puts(b, "/>");
		return;
	}
	nd_buf_putc(b, '>');
	switch (json_typeof(v)) {
	case JSON_OBJECT: members(b, v); break;
	case JSON_STRING: nd_xml_text(b, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER: nd_buf_json_int(b, json_integer_value(v)); break;
	case JSON_REAL: nd_buf_printf(b, "%.17g", json_real_value(v)); break;
	case JSON_TRUE: nd_buf_puts(b, "true"); break;
	case JSON_FALSE: nd_buf_puts(b, "false"); break;
	default: break;
	}
	nd_buf_puts(b, "</");
	name(b, key);
	nd_buf_putc(b, '>');
}

void nd_xml_document(struct nd_buf *b, const char *root, const json_t *v)
{
	nd_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	if (json_is_object(v)) {
		nd_buf_putc(b, '<');
		name(b, root);
		nd_buf_putc(b, '>');
		members(b, v);
		nd_buf_puts(b, "</");
		name(b, root);
		nd_buf_puts(b, ">\n");
	} else {
		element(b, root, v);
		nd_buf_putc(b, '\n');
	}
}
