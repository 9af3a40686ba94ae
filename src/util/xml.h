/* xml.h - XML character data, for faces that offer format=xml.
 *
 * Text is escaped, and characters XML 1.0 forbids (control characters,
 * U+FFFE, U+FFFF, broken UTF-8) become U+FFFD, so any stored text yields
 * well-formed XML. */
#ifndef ND_UTIL_XML_H
#define ND_UTIL_XML_H

#include "util/buf.h"

/* Escaped character data of @s. */
void nd_xml_text(struct nd_buf *b, const char *s, size_t n);

#endif
