/* xml.h - rendering a JSON tree as XML, for faces that offer format=xml.
 *
 * Objects become elements per key, arrays repeated elements named by their
 * key, null an empty element, booleans true/false. Text is escaped, and
 * characters XML 1.0 forbids (control characters, U+FFFE, U+FFFF, broken
 * UTF-8) become U+FFFD, so any stored text yields well-formed XML. */
#ifndef ND_UTIL_XML_H
#define ND_UTIL_XML_H

#include <jansson.h>

#include "util/buf.h"

/* Writes the XML declaration and <@root> holding @v's members. */
void nd_xml_document(struct nd_buf *b, const char *root, const json_t *v);
/* Escaped character data of @s. */
void nd_xml_text(struct nd_buf *b, const char *s, size_t n);

#endif
